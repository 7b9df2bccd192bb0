//! The decision audit trail: every decision attempt, accepted or refused, and why.

use crate::clock::now_ms;
use crate::db::Db;
use domain::Decision;

/// Records a decision attempt; `refusal` is `None` when it was accepted.
pub async fn record(
    db: &Db,
    instance_id: &str,
    actor: &str,
    decision: Decision,
    refusal: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO decision_audit (instance_id, actor, approved, accepted, reason, at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(instance_id)
    .bind(actor)
    .bind(decision.approved())
    .bind(refusal.is_none())
    .bind(refusal)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}
