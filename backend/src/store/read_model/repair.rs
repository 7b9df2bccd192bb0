//! What the reconciler and operators read and write: the rows that may need repair,
//! the attention mark, the waiting orders at a glance, and an operator's termination.

use crate::model::history::WaitingSummary;
use crate::model::order::OrderRow;
use crate::store::db::Db;
use domain::OrderStatus;

on_either_database!(orders {
    /// Rows the reconciler should compare with the workflow state, in pages keyed by
    /// instance id. With `everything`, all unfinished rows (start-up); otherwise only
    /// those that look stuck (submitted, claimed or past their deadline before
    /// `stuck_before`) or need attention.
    fn unsettled(
        everything: bool,
        stuck_before: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<OrderRow>, sqlx::Error>;
    /// Marks an unfinished order as needing an operator, with the reason (`None`: no
    /// longer). Writes only when the reason changes, so a reconciler pass that finds
    /// the same trouble again does not wake every inbox.
    fn set_attention(instance_id: &str, reason: Option<&str>, now: i64) -> Result<bool, sqlx::Error>;
    /// The waiting orders at a glance, for the metrics.
    fn waiting_summary() -> Result<WaitingSummary, sqlx::Error>;
    /// The orders needing an operator, longest waiting first.
    fn needing_attention(limit: i64) -> Result<Vec<OrderRow>, sqlx::Error>;
});

/// An operator ended the order's workflow: it is closed as failed, with their reason,
/// and needs nobody's attention any more. Returns false for an order already settled
/// in any other way.
pub async fn terminate(
    db: &Db,
    instance_id: &str,
    actor: &str,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let failure = format!("Terminated by {actor}: {reason}");
    let terminated = match db {
        Db::Sqlite(pool) => {
            store_sqlite::orders::terminate(pool, instance_id, actor, reason, &failure, now).await?
        }
        Db::Postgres(pool) => {
            store_postgres::orders::terminate(pool, instance_id, actor, reason, &failure, now)
                .await?
        }
    };
    if terminated {
        crate::kernel::metrics::order_finished(OrderStatus::Failed);
    }
    Ok(terminated)
}
