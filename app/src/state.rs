//! What every request handler and server function can reach (server only).

use axum::extract::FromRef;
use backend::model::order::ChangeBatch;
use backend::services::orders::OrderService;
use backend::services::session::Site;
use backend::services::sign_in::SignIn;
use backend::store::db::Db;
use leptos::config::LeptosOptions;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos site options (output name, site root) for SSR and static files.
    pub leptos_options: LeptosOptions,
    /// The read model, accounts and the audit trail.
    pub db: Db,
    /// Starting, deciding and inspecting orders through the workflow engine.
    pub orders: OrderService,
    /// Batches of order changes, for server-sent events.
    pub changes: tokio::sync::broadcast::Sender<ChangeBatch>,
    /// Where the app is reached: which requests are its own, and its session cookie.
    pub site: Site,
    /// Password checks: bounded, rate-limited, and remembered for Basic-auth clients.
    pub sign_in: SignIn,
}
