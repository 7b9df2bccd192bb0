//! The change feed behind server-sent events. Triggers append every order change to
//! `order_changes`; this task reads new entries a few times a second and broadcasts
//! them. Reading the table (instead of an in-process channel) means every replica that
//! shares the database sees every change, whoever made it.

use std::sync::Arc;
use std::time::Duration;

use crate::db::Db;
use crate::read_model::{ChangeBatch, OrderChange};
use tokio::sync::broadcast;

const POLL: Duration = Duration::from_millis(200);
/// How many past changes to keep; older ones are of no use to anyone.
const KEEP: i64 = 10_000;

pub fn channel() -> broadcast::Sender<ChangeBatch> {
    broadcast::channel(64).0
}

/// The id of the newest change (0 when there is none).
pub async fn latest(db: &Db) -> Result<i64, sqlx::Error> {
    let max = sqlx::query_scalar!(r#"SELECT MAX(id) AS "max: i64" FROM order_changes"#)
        .fetch_one(db)
        .await?;
    Ok(max.unwrap_or(0))
}

/// Up to 1,000 changes after `last`, oldest first.
pub async fn after(db: &Db, last: i64) -> Result<Vec<OrderChange>, sqlx::Error> {
    sqlx::query_as!(
        OrderChange,
        r#"SELECT id AS "id!", instance_id, status, requested_by FROM order_changes
            WHERE id > ? ORDER BY id LIMIT 1000"#,
        last
    )
    .fetch_all(db)
    .await
}

pub async fn run(db: Db, sender: broadcast::Sender<ChangeBatch>) {
    let mut last = match latest(&db).await {
        Ok(last) => last,
        Err(e) => {
            tracing::error!(error = %e, "change feed: cannot read order_changes");
            0
        }
    };
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(POLL).await;
        ticks += 1;
        match after(&db, last).await {
            Ok(batch) if !batch.is_empty() => {
                last = batch.last().map_or(last, |c| c.id);
                // Nobody listening is fine.
                let _ = sender.send(Arc::new(batch));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "change feed: poll failed"),
        }
        if ticks.is_multiple_of(300) {
            let oldest_kept = last - KEEP;
            if let Err(e) = sqlx::query!("DELETE FROM order_changes WHERE id < ?", oldest_kept)
                .execute(&db)
                .await
            {
                tracing::warn!(error = %e, "change feed: pruning failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_model::{delete_submitted, insert_submitted, OrderFacts};
    use domain::Cents;

    /// Every change reaches the feed, a taken-back start too (its status is `deleted`,
    /// which is no order status: the feed must not choke on it).
    #[tokio::test]
    async fn the_feed_carries_every_change_in_order() {
        let (db, _dir) = crate::db::temporary().await.expect("a fresh database");
        let start = latest(&db).await.expect("latest");
        let facts = OrderFacts {
            instance_id: "po-1".into(),
            order_id: "1".into(),
            product: "Desk".into(),
            quantity: 1,
            unit_cost: Cents(500),
            requested_by: Some("alice".into()),
        };
        insert_submitted(&db, &facts, 1).await.expect("inserted");
        delete_submitted(&db, "po-1").await.expect("deleted");
        let changes = after(&db, start).await.expect("read");
        let seen: Vec<(&str, &str, Option<&str>)> = changes
            .iter()
            .map(|c| {
                (
                    c.instance_id.as_str(),
                    c.status.as_str(),
                    c.requested_by.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("po-1", "submitted", Some("alice")),
                ("po-1", "deleted", Some("alice"))
            ]
        );
        assert_eq!(latest(&db).await.expect("latest"), changes[1].id);
    }
}
