//! The notifications outbox.

use base::model::notification::StoredNotification;
use sqlx::PgPool;

/// Adds one e-mail about `instance_id`, unless it is there already: the number added.
pub async fn add_one(
    db: &PgPool,
    instance_id: &str,
    event_key: &str,
    recipient: &str,
    address: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let added = sqlx::query!(
        "INSERT INTO notifications (instance_id, event, channel, recipient, address,
                                    created_at, next_attempt_at)
         VALUES ($1, $2, 'email', $3, $4, $5, $5)
         ON CONFLICT (instance_id, event, channel, recipient) DO NOTHING",
        instance_id,
        event_key,
        recipient,
        address,
        now,
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected())
}

pub async fn add_outcome(
    db: &PgPool,
    instance_id: &str,
    email: bool,
    webhook: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    if email {
        sqlx::query!(
            "INSERT INTO notifications (instance_id, event, channel, recipient, address,
                                        created_at, next_attempt_at)
             SELECT o.instance_id, 'outcome', 'email', u.name, u.email, $1, $1
               FROM orders o JOIN users u ON u.name = o.requested_by
              WHERE o.instance_id = $2 AND u.email IS NOT NULL
             ON CONFLICT (instance_id, event, channel, recipient) DO NOTHING",
            now,
            instance_id,
        )
        .execute(db)
        .await?;
    }
    if webhook {
        sqlx::query!(
            "INSERT INTO notifications (instance_id, event, channel, recipient, created_at,
                                        next_attempt_at)
             VALUES ($1, 'outcome', 'webhook', '', $2, $2)
             ON CONFLICT (instance_id, event, channel, recipient) DO NOTHING",
            instance_id,
            now,
        )
        .execute(db)
        .await?;
    }
    Ok(())
}

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

pub async fn mark_sent(db: &PgPool, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE notifications SET sent_at = $1, claimed_until = NULL, last_error = NULL
          WHERE id = $2",
        now,
        id,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn mark_failed(
    db: &PgPool,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let skipped_at = retry_at.is_none().then_some(now);
    let next = retry_at.unwrap_or(now);
    sqlx::query!(
        "UPDATE notifications SET claimed_until = NULL, last_error = $1, next_attempt_at = $2,
                skipped_at = $3
          WHERE id = $4",
        error,
        next,
        skipped_at,
        id,
    )
    .execute(db)
    .await?;
    Ok(())
}
