//! The PostgreSQL dialect of [`super`]'s queries: the same statements, checked by the
//! test suite run on PostgreSQL (`APPROVALS_TEST_POSTGRES`).

use sqlx::PgPool;

use crate::kernel::clock::now_ms;
use domain::Decision;

/// `approved` and `accepted` are `BOOLEAN` here (0/1 integers on SQLite).
pub(super) async fn record(
    db: &PgPool,
    instance_id: &str,
    actor: &str,
    decision: Decision,
    refusal: Option<&str>,
) -> Result<(), sqlx::Error> {
    let (approved, accepted, at) = (decision.approved(), refusal.is_none(), now_ms());
    sqlx::query(
        "INSERT INTO decision_audit (instance_id, actor, approved, decision, accepted, reason, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(instance_id)
    .bind(actor)
    .bind(approved)
    .bind(decision)
    .bind(accepted)
    .bind(refusal)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}
