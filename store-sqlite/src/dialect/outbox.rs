//! The outbox's claims on SQLite: its one writer makes a select-then-update whole, so
//! two senders never take the same notification.

use base::model::notification::StoredNotification;
use sqlx::SqlitePool;

pub async fn claim_due(
    db: &SqlitePool,
    now: i64,
    hold_ms: i64,
) -> Result<Option<StoredNotification>, sqlx::Error> {
    let until = now + hold_ms;
    sqlx::query_as!(
        StoredNotification,
        r#"UPDATE notifications SET claimed_until = $1, attempts = attempts + 1
            WHERE id = (SELECT id FROM notifications
                         WHERE sent_at IS NULL AND skipped_at IS NULL AND next_attempt_at <= $2
                           AND (claimed_until IS NULL OR claimed_until < $2)
                         ORDER BY next_attempt_at, id LIMIT 1)
           RETURNING id AS "id!", instance_id, event, channel, recipient, address, attempts"#,
        until,
        now,
    )
    .fetch_optional(db)
    .await
}

pub async fn claim_for(
    db: &SqlitePool,
    instance_id: &str,
    event_key: &str,
    now: i64,
    hold_ms: i64,
) -> Result<Option<StoredNotification>, sqlx::Error> {
    let until = now + hold_ms;
    sqlx::query_as!(
        StoredNotification,
        r#"UPDATE notifications SET claimed_until = $1, attempts = attempts + 1
            WHERE id = (SELECT id FROM notifications
                         WHERE instance_id = $2 AND event = $3
                           AND sent_at IS NULL AND skipped_at IS NULL AND next_attempt_at <= $4
                           AND (claimed_until IS NULL OR claimed_until < $4)
                         ORDER BY id LIMIT 1)
           RETURNING id AS "id!", instance_id, event, channel, recipient, address, attempts"#,
        until,
        instance_id,
        event_key,
        now,
    )
    .fetch_optional(db)
    .await
}
