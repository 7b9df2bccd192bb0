//! What happened to an order besides its row: the levels approved before the last, the
//! timeline's other events, and what operators did to it.

use domain::Role;

use super::pg;
use crate::model::history::{LevelApproval, OperatorAction, OperatorActionRow, TimelineRow};
use crate::store::db::Db;

pub async fn timeline(db: &Db, instance_id: &str) -> Result<Vec<TimelineRow>, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::timeline(db, instance_id).await,
    };
    sqlx::query_as!(
        TimelineRow,
        "SELECT at, label FROM order_timeline WHERE instance_id = ? ORDER BY at, key",
        instance_id
    )
    .fetch_all(db)
    .await
}

/// The levels of an order approved so far (not the last: that is the order's outcome).
pub async fn level_approvals(
    db: &Db,
    instance_id: &str,
) -> Result<Vec<LevelApproval>, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::level_approvals(db, instance_id).await,
    };
    sqlx::query_as!(
        LevelApproval,
        r#"SELECT level, role AS "role: Role", requested_at, approved_by, comment, approved_at
             FROM order_approvals WHERE instance_id = ? ORDER BY level"#,
        instance_id
    )
    .fetch_all(db)
    .await
}

/// Records what an operator did to an order, and who.
pub async fn record_operator_action(
    db: &Db,
    instance_id: &str,
    actor: &str,
    action: OperatorAction,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    match db {
        Db::Sqlite(db) => {
            record_operator_action_on(db, instance_id, actor, action, reason, now).await
        }
        Db::Postgres(db) => {
            pg::record_operator_action(db, instance_id, actor, action, reason, now).await
        }
    }
}

/// The statement behind [`record_operator_action`], on any SQLite connection (a
/// transaction).
pub(super) async fn record_operator_action_on(
    db: impl sqlx::SqliteExecutor<'_>,
    instance_id: &str,
    actor: &str,
    action: OperatorAction,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO operator_actions (instance_id, actor, action, reason, at)
         VALUES (?, ?, ?, ?, ?)",
        instance_id,
        actor,
        action,
        reason,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn operator_actions(
    db: &Db,
    instance_id: &str,
) -> Result<Vec<OperatorActionRow>, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::operator_actions(db, instance_id).await,
    };
    sqlx::query_as!(
        OperatorActionRow,
        r#"SELECT actor, action AS "action: OperatorAction", reason, at FROM operator_actions
          WHERE instance_id = ? ORDER BY at, id"#,
        instance_id,
    )
    .fetch_all(db)
    .await
}
