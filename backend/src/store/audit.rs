//! The decision audit trail: every attempt to approve, reject or cancel an order,
//! accepted or refused, and why.

use crate::kernel::clock::now_ms;
use crate::store::db::Db;
use domain::Decision;

use store_postgres::audit as pg;

/// Records a decision attempt; `refusal` is `None` when it was accepted.
pub async fn record(
    db: &Db,
    instance_id: &str,
    actor: &str,
    decision: Decision,
    refusal: Option<&str>,
) -> Result<(), sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => {
            return pg::record(db, instance_id, actor, decision, refusal, now_ms()).await
        }
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the trail holds, oldest first: (actor, decision, approved, accepted, reason).
    async fn trail(db: &Db) -> Vec<(String, Option<String>, bool, bool, Option<String>)> {
        let sql = "SELECT actor, decision, approved, accepted, reason
                     FROM decision_audit ORDER BY id";
        match db {
            Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
            Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        }
        .expect("the trail")
    }

    #[tokio::test]
    async fn accepted_and_refused_attempts_are_recorded() {
        let (db, _dir) = crate::store::db::temporary()
            .await
            .expect("a fresh database");
        record(&db, "i-1", "bob", Decision::Approve, None)
            .await
            .expect("recorded");
        record(
            &db,
            "i-1",
            "carol",
            Decision::Reject,
            Some("already decided"),
        )
        .await
        .expect("recorded");
        assert_eq!(
            trail(&db).await,
            [
                ("bob".into(), Some("approve".into()), true, true, None),
                (
                    "carol".into(),
                    Some("reject".into()),
                    false,
                    false,
                    Some("already decided".into())
                ),
            ]
        );
    }
}
