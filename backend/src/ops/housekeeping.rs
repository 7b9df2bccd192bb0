//! Keeps the database from growing for ever with what nobody needs any more. Run by
//! the replica that holds the reconciler's lease, at most once an hour.
//!
//! - The notifications outbox: a finished order's notifications, delivered or given
//!   up more than `NOTIFICATIONS_KEPT_FOR` ago (no activity of a finished workflow
//!   looks for them again).
//! - Sessions are swept when a new one is made (`store::accounts`), and the change
//!   feed keeps its last changes only (`store::changes`); the audit trail is kept.

use std::time::Duration;

use crate::store::db::Db;
use crate::store::outbox;

/// How often the housekeeping runs.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// Forgets what is past its time at `now_ms`: the number of notifications forgotten.
pub async fn tidy(db: &Db, now_ms: i64, keep_notifications: Duration) -> Result<u64, sqlx::Error> {
    let kept_ms = i64::try_from(keep_notifications.as_millis()).unwrap_or(i64::MAX);
    outbox::prune_delivered(db, now_ms.saturating_sub(kept_ms)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finished order's delivered notification goes after its time; a waiting
    /// order's, and a recent one, stay.
    #[tokio::test]
    async fn only_old_notifications_of_finished_orders_go() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        let day = 24 * 60 * 60 * 1000;
        let now = 400 * day;
        for (id, status) in [("po-done", "approved"), ("po-waits", "awaiting_approval")] {
            db.execute_for_test(
                &format!(
                    "INSERT INTO orders (order_id, instance_id, product, quantity, unit_cost_cents,
                                     total_cents, status, created_at, updated_at)
                 VALUES ('{id}', '{id}', 'Widget', 1, 100, 100, '{status}', 0, 0)"
                ),
                &[0i64; 0],
            )
            .await
            .expect("an order");
        }
        for (id, recipient, sent_at) in [
            ("po-done", "old", now - 100 * day),
            ("po-done", "recent", now - day),
            ("po-waits", "old", now - 100 * day),
        ] {
            db.execute_for_test(
                &format!(
                    "INSERT INTO notifications (instance_id, event, channel, recipient, created_at,
                                            next_attempt_at, sent_at)
                 VALUES ('{id}', 'request:1', 'email', '{recipient}', 0, 0, $1)"
                ),
                &[sent_at],
            )
            .await
            .expect("a notification");
        }
        let gone = tidy(&db, now, Duration::from_secs(90 * 24 * 60 * 60))
            .await
            .expect("tidied");
        assert_eq!(gone, 1);
        let left: Vec<String> = db
            .scalars_for_test(
                "SELECT instance_id || '/' || recipient FROM notifications ORDER BY 1",
            )
            .await
            .expect("read");
        assert_eq!(left, ["po-done/recent", "po-waits/old"]);
    }
}
