//! What every request handler and server function can reach.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{read_model::Db, OrderService};

#[derive(Clone, FromRef)]
pub struct AppState {
    /// Leptos site options (output name, site root) for SSR and static files.
    pub leptos_options: LeptosOptions,
    /// The read model.
    pub db: Db,
    /// Starting, deciding and inspecting orders through Dapr.
    pub orders: OrderService,
    /// Batches of order changes, for server-sent events.
    pub changes: tokio::sync::broadcast::Sender<super::read_model::ChangeBatch>,
}
