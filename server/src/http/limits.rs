//! How large a request body may be: one limit for every route, answered with 413 and
//! a message before any handler reads the body. Without it a server function's body
//! past axum's own limit came back as a 500 (leptos reports the failed read as a
//! server error). The largest body the app itself sends is a bulk decision of a page of
//! orders, a few KiB.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The largest request body, in bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// The same limit for axum's own extractors (`Json`, `Form`, `Bytes`).
pub fn extractors() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_BODY)
}

/// Refuses a body past [`MAX_BODY`]: at once when `Content-Length` says so, else (a
/// chunked body) once that much has arrived, the rest unread. File uploads are the
/// exception: their routes read the body a part at a time under limits of their own
/// (`super::attachments`), so they pass unbuffered.
pub async fn bounded_body(request: Request, next: Next) -> Response {
    if super::attachments::is_upload(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_BODY as u64 => too_large(),
        Some(_) => next.run(request).await,
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, MAX_BODY).await {
                Ok(bytes) => {
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
                Err(_) => too_large(),
            }
        }
    }
}

fn too_large() -> Response {
    ApiError::BadRequest(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "The request body is larger than {} KiB; send less at once.",
            MAX_BODY / 1024
        ),
    )
    .into_response()
}
