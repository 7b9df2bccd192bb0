//! The Approvals server as a library: the whole HTTP surface in one [`app`] router
//! (Leptos pages and server functions, the JSON API, SSE, health, OpenAPI), so tests
//! can drive it with `tower::ServiceExt::oneshot` and no network. `main.rs` adds the
//! process around it: configuration, the database, the Dapr worker, the listener.

pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod serve;
pub mod telemetry;

use app::state::AppState;
use app::{shell, App};
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list_with_exclusions_and_ssg_and_context, LeptosRoutes};
use tower_http::timeout::TimeoutLayer;

/// How long any request but the event stream may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Every route of the app, ready to serve.
pub fn app(state: AppState) -> Router {
    // Listing the routes renders the app once; its server-side resources call server
    // functions, which need the state as every request's render does.
    let route_state = state.clone();
    let (routes, _) =
        generate_route_list_with_exclusions_and_ssg_and_context(App, None, move || {
            provide_context(route_state.clone())
        });
    let context_state = state.clone();
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .merge(http::router())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // A handler still busy after this has met something stuck; the answer says so.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .merge(http::streams())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::same_origin::same_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::error_seal::error_seal,
        ))
        .layer(axum::middleware::from_fn(http::whole_pages::whole_pages))
        .layer(http::headers::security_headers())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(http::fresh_owner::fresh_owner))
        .with_state(state)
}
