//! The change feed behind server-sent events: where it ends, what came after a
//! position (each database orders it its own way: `crate::dialect::changes`), and
//! forgetting old changes.

pub use crate::dialect::changes::{after, latest};
use crate::Pool;

/// Forgets the changes before `oldest_kept`.
pub async fn prune(db: &Pool, oldest_kept: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM order_changes WHERE id < $1", oldest_kept)
        .execute(db)
        .await?;
    Ok(())
}
