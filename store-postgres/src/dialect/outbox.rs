//! The outbox's claims on PostgreSQL.

use base::model::notification::StoredNotification;
use sqlx::PgPool;

// The claims: SQLite's one writer makes its select-then-update whole; here several
// replicas claim at once, so the subquery locks the row it picks and skips those
// another sender is claiming (`FOR UPDATE SKIP LOCKED`): two never take the same one,
// and neither waits for the other. A row claimed and committed meanwhile is checked
// again under the lock (its `claimed_until` no longer lets it through).

pub async fn claim_due(
    db: &PgPool,
    now: i64,
    hold_ms: i64,
) -> Result<Option<StoredNotification>, sqlx::Error> {
    let until = now + hold_ms;
    sqlx::query_as!(
        StoredNotification,
        "UPDATE notifications SET claimed_until = $1, attempts = attempts + 1
          WHERE id IN (SELECT id FROM notifications
                        WHERE sent_at IS NULL AND skipped_at IS NULL AND next_attempt_at <= $2
                          AND (claimed_until IS NULL OR claimed_until < $2)
                        ORDER BY next_attempt_at, id LIMIT 1
                        FOR UPDATE SKIP LOCKED)
         RETURNING id, instance_id, event, channel, recipient, address, attempts",
        until,
        now,
    )
    .fetch_optional(db)
    .await
}

pub async fn claim_for(
    db: &PgPool,
    instance_id: &str,
    event_key: &str,
    now: i64,
    hold_ms: i64,
) -> Result<Option<StoredNotification>, sqlx::Error> {
    let until = now + hold_ms;
    sqlx::query_as!(
        StoredNotification,
        "UPDATE notifications SET claimed_until = $1, attempts = attempts + 1
          WHERE id IN (SELECT id FROM notifications
                        WHERE instance_id = $2 AND event = $3
                          AND sent_at IS NULL AND skipped_at IS NULL AND next_attempt_at <= $4
                          AND (claimed_until IS NULL OR claimed_until < $4)
                        ORDER BY id LIMIT 1
                        FOR UPDATE SKIP LOCKED)
         RETURNING id, instance_id, event, channel, recipient, address, attempts",
        until,
        instance_id,
        event_key,
        now,
    )
    .fetch_optional(db)
    .await
}
