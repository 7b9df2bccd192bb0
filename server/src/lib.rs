//! The Approvals server as a library: the whole HTTP surface in one [`app`] router
//! (Leptos pages and server functions, the JSON API, SSE, health, OpenAPI), so tests
//! can drive it with `tower::ServiceExt::oneshot` and no network. `main.rs` adds the
//! process around it: configuration, the database, the Dapr worker, the listener.

pub mod cli;
pub mod config;
pub mod http;

use app::state::AppState;
use app::{shell, App};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// Every route of the app, ready to serve.
pub fn app(state: AppState) -> Router {
    let routes = generate_route_list(App);
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
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
