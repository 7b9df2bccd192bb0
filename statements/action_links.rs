//! E-mails' action links: written when an e-mail asking for a decision goes out, found
//! by their token's hash, and used once.

use base::model::action_link::{ActionLinkRow, NewActionLink};
use domain::{Decision, Role};

use crate::Pool;

/// Keeps a link that is about to be sent.
pub async fn insert(db: &Pool, link: &NewActionLink, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO action_links (token_hash, notification_id, instance_id, recipient, level,
                                   role, decision, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        link.token_hash,
        link.notification_id,
        link.instance_id,
        link.recipient,
        link.level,
        link.role as _,
        link.decision as _,
        link.expires_at,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn find(db: &Pool, token_hash: &str) -> Result<Option<ActionLinkRow>, sqlx::Error> {
    sqlx::query_as!(
        ActionLinkRow,
        r#"SELECT instance_id, recipient, level, role AS "role: Role",
                  decision AS "decision: Decision", expires_at, used_at
             FROM action_links WHERE token_hash = $1"#,
        token_hash,
    )
    .fetch_optional(db)
    .await
}

/// Marks a link used at `now`, if it is still unused and not past its end: exactly one
/// of two posts of the same link gets true.
pub async fn mark_used(db: &Pool, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE action_links SET used_at = $2
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        token_hash,
        now,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Makes a link usable again when the decision it was used for certainly did not
/// happen (the workflow engine could not be reached): only the use made at `used_at`.
pub async fn release(db: &Pool, token_hash: &str, used_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE action_links SET used_at = NULL WHERE token_hash = $1 AND used_at = $2",
        token_hash,
        used_at,
    )
    .execute(db)
    .await?;
    Ok(())
}
