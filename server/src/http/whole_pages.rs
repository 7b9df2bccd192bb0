//! A page leaves the server in one piece: its body is collected before the status line
//! goes out. A page that fails or stalls half-way is then a 500 or a 503, never a
//! truncated page with a 200, and every page has a Content-Length.
//!
//! (This was first meant to keep islands from hydrating before their data arrived. They
//! never could: the island loader is a module script, which runs only once the whole
//! document is parsed. The hydration panics it was meant for had another cause; see
//! `app::components::layout::RequireUser`.)
//!
//! Pages are personal (an inbox, an order), so they are marked for no cache to keep.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Far more than any page we render (the inbox at its largest is under 100 KiB).
const LARGEST_PAGE: usize = 8 * 1024 * 1024;

pub async fn whole_pages(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_page = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !is_page {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The rest of a page is data already resolved, but a body that never ends must not
    // hold its connection for ever.
    let collected = axum::body::to_bytes(body, LARGEST_PAGE);
    let bytes = match tokio::time::timeout(crate::REQUEST_TIMEOUT, collected).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            tracing::error!(%error, "a page could not be rendered whole");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Err(_) => {
            tracing::error!(
                "a page's body was still unfinished after {:?}",
                crate::REQUEST_TIMEOUT
            );
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    parts.headers.insert(CONTENT_LENGTH, bytes.len().into());
    parts
        .headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Body::from(bytes))
}
