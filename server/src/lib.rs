//! The Approvals server as a library: the whole HTTP surface in one [`app`] router
//! (Leptos pages and server functions, the JSON API, SSE, health, OpenAPI), so tests
//! can drive it with `tower::ServiceExt::oneshot` and no network. `main.rs` adds the
//! process around it: configuration, the database, the Dapr worker, the listener.

pub mod cli;
pub mod config;
pub mod doctor;
pub mod http;
pub mod metrics;
pub mod serve;
pub mod telemetry;

use app::state::AppState;
use app::{shell, App};
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{
    generate_route_list_with_exclusions_and_ssg_and_context, AxumRouteListing, LeptosRoutes,
};
use tower_http::timeout::TimeoutLayer;

/// How long any request but the event stream may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Every route of the app, ready to serve.
pub fn app(state: AppState) -> Router {
    let routes = routes(&state);
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
        .layer(axum::middleware::from_fn(http::limits::bounded_body))
        .layer(http::limits::extractors())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::error_seal::error_seal,
        ))
        .layer(axum::middleware::from_fn(http::whole_pages::whole_pages))
        .layer(http::headers::security_headers())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(http::fresh_owner::fresh_owner))
        // Outermost: a request for another host meets nothing else of the app.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::hosts::served_host,
        ))
        .with_state(state)
}

/// The app's page routes, listed once per process.
///
/// Listing them renders the app, and while it does, leptos_router's `RouteList::generate`
/// holds `SuppressResourceLoad`: one flag for the whole process (leptos_server's
/// `IS_SUPPRESSING_RESOURCE_LOAD`), not for that render only. A `Resource` of any page
/// rendering meanwhile, on any thread and under any router, starts its fetch as
/// `pending()` and never loads; the page then waits for it until [`REQUEST_TIMEOUT`]
/// answers 503. A second router built in a process that already serves pages (the HTTP
/// tests build one per test, side by side) did exactly that, now and then. Listed once,
/// before the first router exists, no page can be rendering while the flag is up.
/// The list depends on the app's route definitions only, never on `state`.
fn routes(state: &AppState) -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES
        .get_or_init(|| {
            // The listing renders the app with the state in context, as every
            // request's render has it.
            let route_state = state.clone();
            let (routes, _) =
                generate_route_list_with_exclusions_and_ssg_and_context(App, None, move || {
                    provide_context(route_state.clone())
                });
            routes
        })
        .clone()
}
