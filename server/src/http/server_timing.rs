//! The `Server-Timing` answer header (`APP_SERVER_TIMING=1`; the bench turns it on):
//! how long the request took here, and which parts of it went to checking credentials,
//! the read model and Dapr. Off by default: it tells a caller a little about where
//! the time of a password check goes.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use backend::kernel::timing;

const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

pub async fn server_timing(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (mut response, spent) = timing::measure(next.run(request)).await;
    let value = timing::header_value(&spent, started.elapsed());
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(SERVER_TIMING, value);
    }
    response
}
