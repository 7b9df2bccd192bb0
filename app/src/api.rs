//! Server functions: the browser calls these; their bodies run on the server and reach
//! the read model and Dapr directly.

use leptos::prelude::*;

use crate::domain::{OrderStatus, OrderView};

pub const MAX_PAGE: i64 = 200;

#[server]
pub async fn list_orders(
    status: Option<OrderStatus>,
    limit: i64,
    offset: i64,
) -> Result<Vec<OrderView>, ServerFnError> {
    use crate::backend::{read_model, AppState};
    let state = expect_context::<AppState>();
    let rows = read_model::list(&state.db, status, limit.clamp(1, MAX_PAGE), offset.max(0))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing orders");
            ServerFnError::new("internal error")
        })?;
    Ok(rows.iter().map(|r| r.view()).collect())
}
