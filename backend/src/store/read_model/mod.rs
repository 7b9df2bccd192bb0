//! The read model: one row per order/workflow instance in SQL, because Dapr cannot list
//! instances. Written only by the start path, the workflow's activities, the decision
//! claim and the reconciler; every write is idempotent or conditional so that a
//! replayed activity or a race cannot move an order backwards.

use crate::model::order::{placed_at, Finish, InsertError, LevelWrite, OrderFacts, OrderRow};
use crate::model::workflow::LevelAsk;
use crate::store::db::Db;
use domain::{Cents, Decision, OrderStatus, Role};
use store_postgres::orders as pg;

mod history;
mod list;
mod repair;
#[cfg(test)]
mod tests;

pub use history::{level_approvals, operator_actions, record_operator_action, timeline};
pub use list::{count, list};
pub use repair::{needing_attention, set_attention, terminate, unsettled, waiting_summary};

/// The statuses [`OrderStatus::is_final`] calls final, as SQL, for the list filters.
/// The static queries below spell the list out (a query checked at compile time is
/// one string literal); `final_rows_are_never_overwritten` holds them to `is_final`.
const FINAL_STATUSES: &str =
    "('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')";

/// Records an accepted order before its workflow is scheduled: the unique key is what
/// turns a repeated order id into a conflict, even when two arrive at once.
pub async fn insert_submitted(
    db: &Db,
    facts: &OrderFacts,
    now: i64,
) -> Result<OrderRow, InsertError> {
    match db {
        Db::Sqlite(db) => insert_submitted_on(db, facts, now).await,
        Db::Postgres(db) => pg::insert_submitted(db, facts, now).await,
    }
}

/// The statement behind [`insert_submitted`], on any SQLite connection (a shared
/// transaction: the group commit).
pub(crate) async fn insert_submitted_on(
    db: impl sqlx::SqliteExecutor<'_>,
    facts: &OrderFacts,
    now: i64,
) -> Result<OrderRow, InsertError> {
    let total = facts.total();
    let result = sqlx::query_as!(
        OrderRow,
        r#"INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
            total_cents, status, created_at, updated_at, requested_by)
         VALUES (?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?)
         RETURNING instance_id AS "instance_id!", order_id, product, quantity,
                unit_cost_cents AS "unit_cost_cents: Cents",
                total_cents AS "total_cents: Cents", status AS "status: OrderStatus",
                created_at, deadline, decision AS "decision: Decision", decided_by,
                claimed_at, decided_at, failure, updated_at, requested_by, decision_comment,
                approval_requested_at, placed_at, attention, attention_since, level, levels,
                level_role AS "level_role: Role", level_approvers"#,
        facts.instance_id,
        facts.order_id,
        facts.product,
        facts.quantity,
        facts.unit_cost,
        total,
        now,
        now,
        facts.requested_by,
    )
    .fetch_one(db)
    .await;
    match result {
        Ok(row) => Ok(row),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(InsertError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Undoes [`insert_submitted`] when the workflow could not be scheduled.
pub async fn delete_submitted(db: &Db, instance_id: &str) -> Result<(), sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::delete_submitted(db, instance_id).await,
    };
    sqlx::query!(
        "DELETE FROM orders WHERE instance_id = ? AND status = 'submitted'",
        instance_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The workflow asked for approval: the order now waits until `deadline`.
pub async fn mark_awaiting(
    db: &Db,
    facts: &OrderFacts,
    deadline: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    match db {
        Db::Sqlite(db) => mark_awaiting_on(db, facts, deadline, now).await,
        Db::Postgres(db) => pg::mark_awaiting(db, facts, deadline, now).await,
    }
}

/// The statement behind [`mark_awaiting`], on any SQLite connection (a transaction).
async fn mark_awaiting_on(
    db: impl sqlx::SqliteExecutor<'_>,
    facts: &OrderFacts,
    deadline: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let total = facts.total();
    sqlx::query!(
        "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
            total_cents, status, created_at, deadline, updated_at, requested_by,
            approval_requested_at)
         VALUES (?, ?, ?, ?, ?, ?, 'awaiting_approval', ?, ?, ?, ?, ?)
         ON CONFLICT (instance_id) DO UPDATE
            SET status = 'awaiting_approval', deadline = excluded.deadline,
                updated_at = excluded.updated_at,
                approval_requested_at = excluded.approval_requested_at
          WHERE orders.status = 'submitted'",
        facts.instance_id,
        facts.order_id,
        facts.product,
        facts.quantity,
        facts.unit_cost,
        total,
        now,
        deadline,
        now,
        facts.requested_by,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The workflow asked for approval at a level of its policy: the order now waits there
/// until `deadline`. Asking a later level first moves the approvals of the levels
/// before it (and the comment of the claim that approved the last of them) to
/// `order_approvals`, and frees the claim for the new level. Idempotent, and never
/// moves an order back to an earlier level.
pub async fn mark_awaiting_level(
    db: &Db,
    facts: &OrderFacts,
    ask: &LevelAsk,
    deadline: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let write = LevelWrite::of(ask);
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => {
            return pg::mark_awaiting_level(db, facts, ask, &write, deadline, now).await;
        }
    };
    let LevelWrite { number, of, .. } = write;
    let approvers = write.approvers.to_stored();
    let mut tx = db.begin().await?;
    // The row, if a lost insert left none (as waiting; the level is set below).
    mark_awaiting_on(&mut *tx, facts, deadline, now).await?;
    for (level, by) in (1_i64..).zip(&ask.approved_by) {
        // The claim still on the row is the one that approved this level, if it is
        // theirs: its comment and time go with the approval.
        sqlx::query!(
            "INSERT INTO order_approvals (instance_id, level, role, requested_at, approved_by,
                                          comment, approved_at)
             SELECT instance_id, ?1,
                    CASE WHEN level = ?1 THEN level_role END,
                    CASE WHEN level = ?1 THEN approval_requested_at END,
                    ?2,
                    CASE WHEN level = ?1 AND decided_by = ?2 THEN decision_comment END,
                    COALESCE(CASE WHEN level = ?1 AND decided_by = ?2 THEN claimed_at END, ?3)
               FROM orders WHERE instance_id = ?4
             ON CONFLICT (instance_id, level) DO NOTHING",
            level,
            by,
            now,
            facts.instance_id,
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!(
        "UPDATE orders SET status = 'awaiting_approval', deadline = ?, level = ?, levels = ?,
                level_role = ?, level_approvers = ?, approval_requested_at = ?,
                decision = NULL, decided_by = NULL, decision_comment = NULL,
                claimed_at = NULL, updated_at = ?
          WHERE instance_id = ?
            AND (status = 'submitted'
                 OR (status = 'awaiting_approval'
                     AND (COALESCE(level, 0) < ?
                          OR (level = ? AND ? AND level_role IS NOT ?))))",
        deadline,
        number,
        of,
        ask.role,
        approvers,
        now,
        now,
        facts.instance_id,
        number,
        number,
        ask.escalated,
        ask.role,
    )
    .execute(&mut *tx)
    .await?;
    if let Some((key, label)) = &write.escalation {
        add_timeline_on(&mut *tx, &facts.instance_id, key, label, now).await?;
    }
    tx.commit().await
}

/// An event in the order's timeline besides its decisions (a reminder, an escalation),
/// once per `key`.
pub async fn add_timeline(
    db: &Db,
    instance_id: &str,
    key: &str,
    label: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    match db {
        Db::Sqlite(db) => add_timeline_on(db, instance_id, key, label, at).await,
        Db::Postgres(db) => pg::add_timeline(db, instance_id, key, label, at).await,
    }
}

/// The statement behind [`add_timeline`], on any SQLite connection (a transaction).
async fn add_timeline_on(
    db: impl sqlx::SqliteExecutor<'_>,
    instance_id: &str,
    key: &str,
    label: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO order_timeline (instance_id, key, at, label) VALUES (?, ?, ?, ?)
         ON CONFLICT (instance_id, key) DO NOTHING",
        instance_id,
        key,
        at,
        label,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records the workflow's outcome. A final row is never overwritten, so replays and the
/// reconciler can call this as often as they like.
pub async fn record_outcome(
    db: &Db,
    facts: &OrderFacts,
    status: OrderStatus,
    decided_by: Option<&str>,
    decided_at: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let placed_at = placed_at(status, now);
    let finished = match db {
        Db::Sqlite(db) => {
            record_outcome_row(db, facts, status, decided_by, decided_at, placed_at, now).await?
        }
        Db::Postgres(db) => {
            pg::record_outcome(db, facts, status, decided_by, decided_at, placed_at, now).await?
        }
    };
    if finished {
        crate::kernel::metrics::order_finished(status);
    }
    Ok(finished)
}

/// The statement behind [`record_outcome`] on SQLite.
async fn record_outcome_row(
    db: &sqlx::SqlitePool,
    facts: &OrderFacts,
    status: OrderStatus,
    decided_by: Option<&str>,
    decided_at: i64,
    placed_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let total = facts.total();
    let result = sqlx::query!(
        "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
            total_cents, status, created_at, decided_by, decided_at, updated_at, requested_by,
            placed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (instance_id) DO UPDATE
            SET status = excluded.status, decided_by = excluded.decided_by,
                decided_at = excluded.decided_at, updated_at = excluded.updated_at,
                placed_at = excluded.placed_at, attention = NULL, attention_since = NULL
          WHERE orders.status NOT IN
                ('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')",
        facts.instance_id,
        facts.order_id,
        facts.product,
        facts.quantity,
        facts.unit_cost,
        total,
        status,
        now,
        decided_by,
        decided_at,
        now,
        facts.requested_by,
        placed_at,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Same as [`record_outcome`] for a row we already hold (reconciler, auto-approval).
pub async fn finish(
    db: &Db,
    instance_id: &str,
    status: OrderStatus,
    decided_by: Option<&str>,
    decided_at: Option<i64>,
    failure: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let end = Finish {
        instance_id: instance_id.to_owned(),
        status,
        decided_by: decided_by.map(str::to_owned),
        decided_at,
        failure: failure.map(str::to_owned),
        now,
    };
    let finished = match db {
        Db::Sqlite(db) => finish_row(db, &end).await?,
        Db::Postgres(db) => pg::finish_row(db, &end).await?,
    };
    if finished {
        crate::kernel::metrics::order_finished(status);
    }
    Ok(finished)
}

/// The statement behind [`finish`], on any connection (a shared transaction: the
/// group commit); counts nothing, since it may yet be rolled back.
pub async fn finish_row(
    db: impl sqlx::SqliteExecutor<'_>,
    end: &Finish,
) -> Result<bool, sqlx::Error> {
    let (placed_at, attention, attention_since) =
        (end.placed_at(), end.attention(), end.attention_since());
    let result = sqlx::query!(
        "UPDATE orders SET status = ?, decided_by = ?,
            decided_at = ?, failure = ?, updated_at = ?, placed_at = COALESCE(placed_at, ?),
            attention = ?, attention_since = ?
          WHERE instance_id = ? AND status NOT IN
                ('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')",
        end.status,
        end.decided_by,
        end.decided_at,
        end.failure,
        end.now,
        placed_at,
        attention,
        attention_since,
        end.instance_id,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Claims the single decision an order may receive at `level` asked of `role`, as the
/// caller was allowed to decide it (`None`: the seed's single level). Returns false
/// when someone else (a manager, or the deadline) got there first, or the order moved
/// on to another level, or escalated, meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn claim_decision(
    db: &Db,
    instance_id: &str,
    level: Option<i64>,
    role: Option<Role>,
    decision: Decision,
    by: &str,
    comment: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => {
            return pg::claim_decision(db, instance_id, level, role, decision, by, comment, now)
                .await;
        }
    };
    let result = sqlx::query!(
        "UPDATE orders SET decision = ?, decided_by = ?, decision_comment = ?, claimed_at = ?,
                updated_at = ?
          WHERE instance_id = ? AND status = 'awaiting_approval' AND decision IS NULL
            AND (deadline IS NULL OR deadline > ?) AND level IS ? AND level_role IS ?",
        decision,
        by,
        comment,
        now,
        now,
        instance_id,
        now,
        level,
        role,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Gives a claim back when its event provably never reached the workflow.
pub async fn release_claim(db: &Db, instance_id: &str, by: &str) -> Result<(), sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::release_claim(db, instance_id, by).await,
    };
    sqlx::query!(
        "UPDATE orders SET decision = NULL, decided_by = NULL, decision_comment = NULL,
                claimed_at = NULL
          WHERE instance_id = ? AND status = 'awaiting_approval' AND decided_by = ?",
        instance_id,
        by,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, instance_id: &str) -> Result<Option<OrderRow>, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::get(db, instance_id).await,
    };
    sqlx::query_as!(
        OrderRow,
        r#"SELECT instance_id AS "instance_id!", order_id, product, quantity,
                unit_cost_cents AS "unit_cost_cents: Cents",
                total_cents AS "total_cents: Cents", status AS "status: OrderStatus",
                created_at, deadline, decision AS "decision: Decision", decided_by,
                claimed_at, decided_at, failure, updated_at, requested_by, decision_comment,
                approval_requested_at, placed_at, attention, attention_since, level, levels,
                level_role AS "level_role: Role", level_approvers FROM orders WHERE instance_id = ?"#,
        instance_id
    )
    .fetch_optional(db)
    .await
}
