//! The notifications outbox: what is to be sent, claims on it, and how each went.
//! The claims are each database's own (`crate::dialect::outbox`).

pub use crate::dialect::outbox::{claim_due, claim_for};
use crate::Pool;

/// Adds one e-mail about `instance_id`, unless it is there already: the number added.
pub async fn add_one(
    db: &Pool,
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

/// The order ended: an e-mail to its requester (if they have an address) and, with
/// `webhook`, the outcome event for the webhook.
pub async fn add_outcome(
    db: &Pool,
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

pub async fn mark_sent(db: &Pool, id: i64, now: i64) -> Result<(), sqlx::Error> {
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

/// A delivery failed: tried again at `retry_at`, or with `None` never (skipped).
pub async fn mark_failed(
    db: &Pool,
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

/// Forgets the notifications of finished orders that were delivered, or given up,
/// before `before`: no activity of a finished workflow runs again to look for them.
/// The number forgotten.
pub async fn prune_delivered(db: &Pool, before: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "DELETE FROM notifications
          WHERE COALESCE(sent_at, skipped_at) < $1
            AND instance_id IN (SELECT instance_id FROM orders
                                 WHERE status IN ('auto_approved', 'approved', 'rejected',
                                                  'timed_out', 'cancelled', 'failed'))",
        before,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}
