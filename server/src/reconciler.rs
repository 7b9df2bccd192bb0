//! Keeps the read model honest after crashes: at start-up every unfinished order is
//! compared with its workflow, and periodically the ones that look stuck are.

use std::time::Duration;

use app::backend::orders::now_ms;
use app::backend::{read_model, OrderService, ServiceError};

/// A row untouched this long (submitted, claimed, or past its deadline) is suspicious.
const STUCK_AFTER_MS: i64 = 10_000;
const PAGE: i64 = 200;

pub async fn run(orders: OrderService, interval: Duration) {
    let mut everything = true;
    loop {
        match pass(&orders, everything).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(checked = n, "reconciler pass"),
            Err(e) => tracing::warn!(error = %e, "reconciler pass stopped early"),
        }
        everything = false;
        tokio::time::sleep(interval).await;
    }
}

/// One pass over the unfinished rows; returns how many were checked.
pub async fn pass(orders: &OrderService, everything: bool) -> Result<usize, ServiceError> {
    let stuck_before = now_ms() - STUCK_AFTER_MS;
    let mut after = String::new();
    let mut checked = 0;
    loop {
        let rows =
            read_model::unsettled(orders.db(), everything, stuck_before, &after, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(checked);
        };
        after = last.instance_id.clone();
        for row in &rows {
            match orders.reconcile(row, stuck_before).await {
                Ok(()) => {}
                // The sidecar is away: the next pass will try again.
                Err(e @ ServiceError::Unavailable(_)) => return Err(e),
                Err(e) => tracing::warn!(instance_id = %row.instance_id, error = %e, "reconcile"),
            }
            checked += 1;
        }
    }
}
