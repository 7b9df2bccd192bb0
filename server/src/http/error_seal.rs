//! A page's error banner shows only words the app wrote for whoever asks. A plain form
//! post to a server function that fails comes back to its page with the error in the
//! query (`__path`, `__err`), sealed by the server (`__seal`) for the person who posted
//! it, for ten minutes (`app::api::notice`). A page requested with an error that does
//! not carry a seal that opens — a crafted link saying "Session expired, sign in at
//! https://evil.example", someone else's link, an old one — is sent to the same page
//! without it.

use app::api::{error_is_sealed, ERROR_SEAL};
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const CARRIED: [&str; 3] = ["__path", "__err", ERROR_SEAL];

pub async fn error_seal(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or_default();
    if request.method() != Method::GET || !query.contains("__err") {
        return next.run(request).await;
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if error_is_sealed(&state.site, request.headers(), &pairs) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "dropped an error the app did not write");
    let rest: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(n, _)| !CARRIED.contains(&n.as_str()))
        .collect();
    let mut target = request.uri().path().to_owned();
    if !rest.is_empty() {
        target.push('?');
        target.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(rest)
                .finish(),
        );
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response()
}
