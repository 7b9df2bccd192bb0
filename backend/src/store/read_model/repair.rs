//! What the reconciler and operators read and write: the rows that may need repair,
//! the attention mark, the waiting orders at a glance, and an operator's termination.

use super::history::record_operator_action_on;
use super::pg;
use crate::model::history::{OperatorAction, WaitingSummary};
use crate::model::order::OrderRow;
use crate::store::db::Db;
use domain::{Cents, Decision, OrderStatus, Role};

/// Rows the reconciler should compare with the workflow state, in pages keyed by
/// instance id. With `everything`, all unfinished rows (start-up); otherwise only those
/// that look stuck (submitted, claimed or past their deadline before `stuck_before`)
/// or need attention.
pub async fn unsettled(
    db: &Db,
    everything: bool,
    stuck_before: i64,
    after: &str,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => {
            return pg::unsettled(db, everything, stuck_before, after, limit).await;
        }
    };
    sqlx::query_as!(
        OrderRow,
        r#"SELECT instance_id AS "instance_id!", order_id, product, quantity,
                unit_cost_cents AS "unit_cost_cents: Cents",
                total_cents AS "total_cents: Cents", status AS "status: OrderStatus",
                created_at, deadline, decision AS "decision: Decision", decided_by,
                claimed_at, decided_at, failure, updated_at, requested_by, decision_comment,
                approval_requested_at, placed_at, attention, attention_since, level, levels,
                level_role AS "level_role: Role", level_approvers FROM orders
          WHERE status IN ('submitted', 'awaiting_approval') AND instance_id > ?
            AND (? OR (status = 'submitted' AND updated_at < ?)
                   OR claimed_at < ? OR deadline < ? OR attention IS NOT NULL)
          ORDER BY instance_id LIMIT ?"#,
        after,
        everything,
        stuck_before,
        stuck_before,
        stuck_before,
        limit,
    )
    .fetch_all(db)
    .await
}

/// Marks an unfinished order as needing an operator, with the reason (`None`: no
/// longer). Writes only when the reason changes, so a reconciler pass that finds the
/// same trouble again does not wake every inbox.
pub async fn set_attention(
    db: &Db,
    instance_id: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::set_attention(db, instance_id, reason, now).await,
    };
    let since = reason.map(|_| now);
    let result = sqlx::query!(
        "UPDATE orders SET attention = ?,
                attention_since = CASE WHEN ? IS NULL THEN NULL
                                       ELSE COALESCE(attention_since, ?) END
          WHERE instance_id = ? AND attention IS NOT ?
            AND status IN ('submitted', 'awaiting_approval')",
        reason,
        since,
        since,
        instance_id,
        reason,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn waiting_summary(db: &Db) -> Result<WaitingSummary, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::waiting_summary(db).await,
    };
    sqlx::query_as!(
        WaitingSummary,
        r#"SELECT COUNT(*) AS "waiting!: i64", MIN(created_at) AS "oldest_since: i64",
                (SELECT COUNT(*) FROM orders WHERE attention IS NOT NULL)
                  AS "needing_attention!: i64"
             FROM orders WHERE status = 'awaiting_approval'"#,
    )
    .fetch_one(db)
    .await
}

/// The orders needing an operator, longest waiting first.
pub async fn needing_attention(db: &Db, limit: i64) -> Result<Vec<OrderRow>, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::needing_attention(db, limit).await,
    };
    sqlx::query_as!(
        OrderRow,
        r#"SELECT instance_id AS "instance_id!", order_id, product, quantity,
                unit_cost_cents AS "unit_cost_cents: Cents",
                total_cents AS "total_cents: Cents", status AS "status: OrderStatus",
                created_at, deadline, decision AS "decision: Decision", decided_by,
                claimed_at, decided_at, failure, updated_at, requested_by, decision_comment,
                approval_requested_at, placed_at, attention, attention_since, level, levels,
                level_role AS "level_role: Role", level_approvers FROM orders
          WHERE attention IS NOT NULL ORDER BY attention_since, instance_id LIMIT ?"#,
        limit,
    )
    .fetch_all(db)
    .await
}

/// An operator ended the order's workflow: it is closed as failed, with their reason,
/// and needs nobody's attention any more. Returns false for an order already settled
/// in any other way.
pub async fn terminate(
    db: &Db,
    instance_id: &str,
    actor: &str,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let failure = format!("Terminated by {actor}: {reason}");
    let terminated = match db {
        Db::Sqlite(db) => terminate_row(db, instance_id, actor, reason, &failure, now).await?,
        Db::Postgres(db) => pg::terminate(db, instance_id, actor, reason, &failure, now).await?,
    };
    if terminated {
        crate::kernel::metrics::order_finished(OrderStatus::Failed);
    }
    Ok(terminated)
}

/// The statements behind [`terminate`] on SQLite, in one transaction.
async fn terminate_row(
    db: &sqlx::SqlitePool,
    instance_id: &str,
    actor: &str,
    reason: &str,
    failure: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let result = sqlx::query!(
        "UPDATE orders SET status = 'failed', failure = ?, decided_at = ?, updated_at = ?,
                attention = NULL, attention_since = NULL
          WHERE instance_id = ? AND status IN ('submitted', 'awaiting_approval', 'failed')",
        failure,
        now,
        now,
        instance_id,
    )
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        return Ok(false);
    }
    record_operator_action_on(
        &mut *tx,
        instance_id,
        actor,
        OperatorAction::Terminate,
        Some(reason),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
