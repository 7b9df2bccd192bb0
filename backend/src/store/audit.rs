//! The decision audit trail: every attempt to approve, reject or cancel an order,
//! accepted or refused, and why.

use domain::Decision;

use crate::model::order::Via;

on_either_database!(audit {
    /// Records a decision attempt at `at`; `refusal` is `None` when it was accepted.
    fn record(
        instance_id: &str,
        actor: &str,
        decision: Decision,
        refusal: Option<&str>,
        via: Via,
        at: i64,
    ) -> Result<(), sqlx::Error>;
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Db;

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
        record(&db, "i-1", "bob", Decision::Approve, None, Via::App, 1)
            .await
            .expect("recorded");
        record(
            &db,
            "i-1",
            "carol",
            Decision::Reject,
            Some("already decided"),
            Via::EmailLink,
            2,
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
