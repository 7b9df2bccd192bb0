//! The decision audit trail.

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
    at: i64,
) -> Result<(), sqlx::Error> {
    let (approved, accepted) = (decision.approved(), refusal.is_none());
    sqlx::query!(
        "INSERT INTO decision_audit (instance_id, actor, approved, decision, accepted, reason, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        instance_id,
        actor,
        approved,
        decision as _,
        accepted,
        refusal,
        at,
    )
    .execute(db)
    .await?;
    Ok(())
}
