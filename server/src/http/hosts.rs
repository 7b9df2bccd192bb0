//! The `Host` is ours: a request for any other host is refused before routing. A
//! DNS-rebinding page (a name of its own that resolves to 127.0.0.1) would otherwise
//! read and post to a local `make run` as a page of the app's own origin would, with
//! the demo accounts' public password. The hosts served are the public origin's and
//! the listen address's (`Site::serves_host`); the health probes answer any host, as
//! an orchestrator's probes name the pod by its address.

use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::HOST;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Paths that answer whatever the host: the health probes.
const ANY_HOST: [&str; 2] = ["/healthz", "/livez"];

pub async fn served_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if ANY_HOST.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    // HTTP/2 names the host in the URI (`:authority`); HTTP/1.1 in `Host`. A request
    // naming none (HTTP/1.0) comes from no browser page.
    let named = match request.headers().get(HOST) {
        Some(value) => Some(value.to_str().unwrap_or("(not text)").to_owned()),
        None => request.uri().authority().map(|a| a.as_str().to_owned()),
    };
    match named {
        Some(host) if !state.site.serves_host(&host) => {
            tracing::warn!(%host, path = %request.uri().path(), "refused a request for another host");
            (
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "This server does not serve {host:?}. Use the app at {}.",
                    state.site.public_origin()
                ),
            )
                .into_response()
        }
        _ => next.run(request).await,
    }
}
