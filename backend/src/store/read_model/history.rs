//! What happened to an order besides its row: the levels approved before the last, the
//! timeline's other events, and what operators did to it.

use sqlx::FromRow;

use domain::Role;

use super::pg;
use crate::store::db::Db;

/// An entry of [`timeline`].
#[derive(Debug, Clone, FromRow)]
pub struct TimelineRow {
    pub at: i64,
    pub label: String,
}

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

/// One approved level of an order that has several, as its timeline shows it.
#[derive(Debug, Clone, FromRow)]
pub struct LevelApproval {
    pub level: i64,
    pub role: Option<Role>,
    pub requested_at: Option<i64>,
    pub approved_by: String,
    pub comment: Option<String>,
    pub approved_at: i64,
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

/// What an operator may do to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum OperatorAction {
    Terminate,
    Redrive,
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

/// One operator action, for the order's timeline.
#[derive(Debug, Clone, FromRow)]
pub struct OperatorActionRow {
    pub actor: String,
    pub action: OperatorAction,
    pub reason: Option<String>,
    pub at: i64,
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
