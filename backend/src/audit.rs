//! The decision audit trail: every attempt to approve, reject or cancel an order,
//! accepted or refused, and why.

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
    let (approved, accepted, at) = (decision.approved(), refusal.is_none(), now_ms());
    sqlx::query!(
        "INSERT INTO decision_audit (instance_id, actor, approved, decision, accepted, reason, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        instance_id,
        actor,
        approved,
        decision,
        accepted,
        refusal,
        at,
    )
    .execute(db)
    .await?;
    Ok(())
}
