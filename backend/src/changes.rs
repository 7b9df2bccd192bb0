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

pub async fn run(db: Db, sender: broadcast::Sender<ChangeBatch>) {
    let mut last: i64 =
        match sqlx::query_as::<_, (Option<i64>,)>("SELECT MAX(id) FROM order_changes")
            .fetch_one(&db)
            .await
        {
            Ok((max,)) => max.unwrap_or(0),
            Err(e) => {
                tracing::error!(error = %e, "change feed: cannot read order_changes");
                0
            }
        };
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(POLL).await;
        ticks += 1;
        let batch = sqlx::query_as::<_, OrderChange>(
            "SELECT id, instance_id, status FROM order_changes WHERE id > ? ORDER BY id LIMIT 1000",
        )
        .bind(last)
        .fetch_all(&db)
        .await;
        match batch {
            Ok(batch) if !batch.is_empty() => {
                last = batch.last().map_or(last, |c| c.id);
                // Nobody listening is fine.
                let _ = sender.send(Arc::new(batch));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "change feed: poll failed"),
        }
        if ticks.is_multiple_of(300) {
            if let Err(e) = sqlx::query("DELETE FROM order_changes WHERE id < ?")
                .bind(last - KEEP)
                .execute(&db)
                .await
            {
                tracing::warn!(error = %e, "change feed: pruning failed");
            }
        }
    }
}
