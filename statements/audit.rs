//! The decision audit trail.

use base::model::order::Via;
use domain::Decision;

use crate::Pool;

/// Records a decision attempt; `refusal` is `None` when it was accepted. `approved`
/// and `accepted` are `BOOLEAN`s on PostgreSQL, 0/1 integers on SQLite.
pub async fn record(
    db: &Pool,
    instance_id: &str,
    actor: &str,
    decision: Decision,
    refusal: Option<&str>,
    via: Via,
    at: i64,
) -> Result<(), sqlx::Error> {
    let (approved, accepted) = (decision.approved(), refusal.is_none());
    sqlx::query!(
        "INSERT INTO decision_audit (instance_id, actor, approved, decision, accepted, reason, at,
                                     via)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        instance_id,
        actor,
        approved,
        decision as _,
        accepted,
        refusal,
        at,
        via as _,
    )
    .execute(db)
    .await?;
    Ok(())
}
