//! The read model: one row per order, its levels, timeline and operator actions. Every
//! write is idempotent or conditional, so that a replayed activity or a race cannot
//! move an order backwards. The lists, whose filters are built at run time, are the
//! backend's (`store::read_model::list`).
//!
//! Statements that return whole orders name its columns through `order_rows!`: a
//! checked statement is literals, so the list is one macro's.

use base::model::history::{
    LevelApproval, OperatorAction, OperatorActionRow, TimelineRow, WaitingSummary,
};
use base::model::order::{Assignment, Finish, InsertError, LevelWrite, OrderFacts, OrderRow, Via};
use base::model::workflow::LevelAsk;
use domain::{Cents, Decision, OrderStatus, Role};

use crate::{Database, Pool};

/// A statement that reads whole orders: `$before`, every column of an [`OrderRow`]
/// with the type it is read as, then `$after` (each a literal, joined by sqlx into one
/// checked statement), with `$args` bound. The column list is written here alone.
macro_rules! order_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            OrderRow,
            $before
                + r#"instance_id AS "instance_id!", order_id, product, quantity,
                unit_cost_cents AS "unit_cost_cents: Cents",
                total_cents AS "total_cents: Cents", status AS "status: OrderStatus",
                created_at, deadline, decision AS "decision: Decision", decided_by,
                claimed_at, decided_at, failure, updated_at, requested_by, decision_comment,
                approval_requested_at, placed_at, attention, attention_since, level, levels,
                level_role AS "level_role: Role", level_approvers, decided_via AS "decided_via: Via", assignee,
                question_since, attachments"#
                + $after
            $(, $arg)*
        )
    };
}

/// Records an accepted order before its workflow is scheduled: the unique key is what
/// turns a repeated order id into a conflict, even when two arrive at once. On any
/// connection: SQLite's group commit runs it in a shared transaction.
pub async fn insert_submitted(
    db: impl sqlx::Executor<'_, Database = Database>,
    facts: &OrderFacts,
    now: i64,
) -> Result<OrderRow, InsertError> {
    let total = facts.total();
    let result = order_rows!(
        "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
               total_cents, status, created_at, updated_at, requested_by)
           VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, $7, $8)
           RETURNING ",
        "",
        facts.instance_id,
        facts.order_id,
        facts.product,
        facts.quantity,
        facts.unit_cost as _,
        total as _,
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
pub async fn delete_submitted(db: &Pool, instance_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM orders WHERE instance_id = $1 AND status = 'submitted'",
        instance_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The workflow asked for approval: the order now waits until `deadline` (the row is
/// made again if a lost insert left none).
pub async fn mark_awaiting(
    db: impl sqlx::Executor<'_, Database = Database>,
    facts: &OrderFacts,
    deadline: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let total = facts.total();
    sqlx::query!(
        "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
            total_cents, status, created_at, deadline, updated_at, requested_by,
            approval_requested_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'awaiting_approval', $7, $8, $7, $9, $7)
         ON CONFLICT (instance_id) DO UPDATE
            SET status = 'awaiting_approval', deadline = excluded.deadline,
                updated_at = excluded.updated_at,
                approval_requested_at = excluded.approval_requested_at
          WHERE orders.status = 'submitted'",
        facts.instance_id,
        facts.order_id,
        facts.product,
        facts.quantity,
        facts.unit_cost as _,
        total as _,
        now,
        deadline,
        facts.requested_by,
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
    db: &Pool,
    facts: &OrderFacts,
    ask: &LevelAsk,
    write: &LevelWrite,
    deadline: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let LevelWrite { number, of, .. } = *write;
    let approvers = write.approvers.to_stored();
    let mut tx = db.begin().await?;
    mark_awaiting(&mut *tx, facts, deadline, now).await?;
    for (level, by) in (1_i64..).zip(&ask.approved_by) {
        // The claim still on the row is the one that approved this level, if it is
        // theirs: its comment and time go with the approval.
        sqlx::query!(
            "INSERT INTO order_approvals (instance_id, level, role, requested_at, approved_by,
                                          comment, approved_at, via)
             SELECT instance_id, $1,
                    CASE WHEN level = $1 THEN level_role END,
                    CASE WHEN level = $1 THEN approval_requested_at END,
                    $2,
                    CASE WHEN level = $1 AND decided_by = $2 THEN decision_comment END,
                    COALESCE(CASE WHEN level = $1 AND decided_by = $2 THEN claimed_at END, $3),
                    CASE WHEN level = $1 AND decided_by = $2 THEN decided_via END
               FROM orders WHERE instance_id = $4
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
        "UPDATE orders SET status = 'awaiting_approval', deadline = $1, level = $2, levels = $3,
                level_role = $4, level_approvers = $5, approval_requested_at = $6,
                decision = NULL, decided_by = NULL, decision_comment = NULL,
                decided_via = NULL, claimed_at = NULL, assignee = NULL, updated_at = $6
          WHERE instance_id = $7
            AND (status = 'submitted'
                 OR (status = 'awaiting_approval'
                     AND (COALESCE(level, 0) < $2
                          OR (level = $2 AND $8 AND level_role IS DISTINCT FROM $4))))",
        deadline,
        number,
        of,
        ask.role as _,
        approvers,
        now,
        facts.instance_id,
        ask.escalated,
    )
    .execute(&mut *tx)
    .await?;
    if let Some((key, label)) = &write.escalation {
        add_timeline(&mut *tx, &facts.instance_id, key, label, now).await?;
    }
    tx.commit().await
}

/// An event in the order's timeline besides its decisions (a reminder, an escalation),
/// once per `key`.
pub async fn add_timeline(
    db: impl sqlx::Executor<'_, Database = Database>,
    instance_id: &str,
    key: &str,
    label: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO order_timeline (instance_id, key, at, label) VALUES ($1, $2, $3, $4)
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

pub async fn timeline(db: &Pool, instance_id: &str) -> Result<Vec<TimelineRow>, sqlx::Error> {
    sqlx::query_as!(
        TimelineRow,
        "SELECT at, label FROM order_timeline WHERE instance_id = $1 ORDER BY at, key",
        instance_id,
    )
    .fetch_all(db)
    .await
}

/// The levels of an order approved so far (not the last: that is the order's outcome).
pub async fn level_approvals(
    db: &Pool,
    instance_id: &str,
) -> Result<Vec<LevelApproval>, sqlx::Error> {
    sqlx::query_as!(
        LevelApproval,
        r#"SELECT level, role AS "role: Role", requested_at, approved_by, comment, approved_at,
                  via AS "via: Via"
             FROM order_approvals WHERE instance_id = $1 ORDER BY level"#,
        instance_id,
    )
    .fetch_all(db)
    .await
}

/// Records the workflow's outcome (making the row if it is missing); a final row is
/// never overwritten. Whether the row was finished now.
pub async fn record_outcome(
    db: &Pool,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8, $11, $12)
         ON CONFLICT (instance_id) DO UPDATE
            SET status = excluded.status, decided_by = excluded.decided_by,
                decided_at = excluded.decided_at, updated_at = excluded.updated_at,
                placed_at = excluded.placed_at, attention = NULL, attention_since = NULL,
                assignee = NULL
          WHERE orders.status NOT IN
                ('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')",
        facts.instance_id,
        facts.order_id,
        facts.product,
        facts.quantity,
        facts.unit_cost as _,
        total as _,
        status as _,
        now,
        decided_by,
        decided_at,
        facts.requested_by,
        placed_at,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Finishes a row we already hold, unless it is final; whether it was finished now. On
/// any connection: SQLite's group commit runs it in a shared transaction.
pub async fn finish_row(
    db: impl sqlx::Executor<'_, Database = Database>,
    end: &Finish,
) -> Result<bool, sqlx::Error> {
    let (placed_at, attention, attention_since) =
        (end.placed_at(), end.attention(), end.attention_since());
    let result = sqlx::query!(
        "UPDATE orders SET status = $1, decided_by = $2,
            decided_at = $3, failure = $4, updated_at = $5, placed_at = COALESCE(placed_at, $6),
            attention = $7, attention_since = $8, assignee = NULL
          WHERE instance_id = $9 AND status NOT IN
                ('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')",
        end.status as _,
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

/// Claims the single decision an order may receive at `level` asked of `role` (`None`:
/// the seed's single level); false when someone else (a manager, or the deadline) got
/// there first, or the order moved on to another level meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn claim_decision(
    db: &Pool,
    instance_id: &str,
    level: Option<i64>,
    role: Option<Role>,
    decision: Decision,
    by: &str,
    comment: Option<&str>,
    via: Via,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE orders SET decision = $1, decided_by = $2, decision_comment = $3,
                claimed_at = $4, updated_at = $4, decided_via = $8
          WHERE instance_id = $5 AND status = 'awaiting_approval' AND decision IS NULL
            AND (deadline IS NULL OR deadline > $4) AND level IS NOT DISTINCT FROM $6
            AND level_role IS NOT DISTINCT FROM $7",
        decision as _,
        by,
        comment,
        now,
        instance_id,
        level,
        role as _,
        via as _,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Hands a waiting order's level to someone, or back, and says so in its timeline;
/// false when it no longer waits undecided at that level and role (or is past its
/// deadline).
pub async fn assign(db: &Pool, assignment: &Assignment) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let result = sqlx::query!(
        "UPDATE orders SET assignee = $1, updated_at = $2
          WHERE instance_id = $3 AND status = 'awaiting_approval' AND decision IS NULL
            AND (deadline IS NULL OR deadline > $2) AND level IS NOT DISTINCT FROM $4
            AND level_role IS NOT DISTINCT FROM $5",
        assignment.to,
        assignment.at,
        assignment.instance_id,
        assignment.level,
        assignment.role as _,
    )
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        return Ok(false);
    }
    // Each step its own entry: the time and the names make its key.
    let key = format!(
        "assigned:{}:{}",
        assignment.at,
        assignment.to.as_deref().unwrap_or("")
    );
    add_timeline(
        &mut *tx,
        &assignment.instance_id,
        &key,
        &assignment.label,
        assignment.at,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Gives a claim back when its event provably never reached the workflow.
pub async fn release_claim(db: &Pool, instance_id: &str, by: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE orders SET decision = NULL, decided_by = NULL, decision_comment = NULL,
                decided_via = NULL, claimed_at = NULL
          WHERE instance_id = $1 AND status = 'awaiting_approval' AND decided_by = $2",
        instance_id,
        by,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: &Pool, instance_id: &str) -> Result<Option<OrderRow>, sqlx::Error> {
    order_rows!(
        "SELECT ",
        " FROM orders WHERE instance_id = $1",
        instance_id,
    )
    .fetch_optional(db)
    .await
}

/// Rows the reconciler should compare with the workflow state, in pages keyed by
/// instance id. With `everything`, all unfinished rows (start-up); otherwise only those
/// that look stuck (submitted, claimed or past their deadline before `stuck_before`)
/// or need attention.
pub async fn unsettled(
    db: &Pool,
    everything: bool,
    stuck_before: i64,
    after: &str,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    order_rows!(
        "SELECT ",
        " FROM orders
            WHERE status IN ('submitted', 'awaiting_approval') AND instance_id > $1
              AND ($2 OR (status = 'submitted' AND updated_at < $3)
                     OR claimed_at < $3 OR deadline < $3 OR attention IS NOT NULL)
            ORDER BY instance_id LIMIT $4",
        after,
        everything,
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
    db: &Pool,
    instance_id: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE orders SET attention = $1,
                attention_since = CASE WHEN $1 IS NULL THEN NULL
                                       ELSE COALESCE(attention_since, $2) END
          WHERE instance_id = $3 AND attention IS DISTINCT FROM $1
            AND status IN ('submitted', 'awaiting_approval')",
        reason,
        now,
        instance_id,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// The waiting orders at a glance, for the metrics. Both counts are read off indexes.
pub async fn waiting_summary(db: &Pool) -> Result<WaitingSummary, sqlx::Error> {
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
pub async fn needing_attention(db: &Pool, limit: i64) -> Result<Vec<OrderRow>, sqlx::Error> {
    order_rows!(
        "SELECT ",
        " FROM orders
            WHERE attention IS NOT NULL ORDER BY attention_since, instance_id LIMIT $1",
        limit,
    )
    .fetch_all(db)
    .await
}

/// An operator ended the order's workflow: it is closed as failed, with their reason,
/// and the action recorded, in one transaction. False for an order already settled in
/// any other way.
pub async fn terminate(
    db: &Pool,
    instance_id: &str,
    actor: &str,
    reason: &str,
    failure: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let result = sqlx::query!(
        "UPDATE orders SET status = 'failed', failure = $1, decided_at = $2, updated_at = $2,
                attention = NULL, attention_since = NULL
          WHERE instance_id = $3 AND status IN ('submitted', 'awaiting_approval', 'failed')",
        failure,
        now,
        instance_id,
    )
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        return Ok(false);
    }
    record_operator_action(
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

/// Records what an operator did to an order, and who.
pub async fn record_operator_action(
    db: impl sqlx::Executor<'_, Database = Database>,
    instance_id: &str,
    actor: &str,
    action: OperatorAction,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO operator_actions (instance_id, actor, action, reason, at)
         VALUES ($1, $2, $3, $4, $5)",
        instance_id,
        actor,
        action as _,
        reason,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn operator_actions(
    db: &Pool,
    instance_id: &str,
) -> Result<Vec<OperatorActionRow>, sqlx::Error> {
    sqlx::query_as!(
        OperatorActionRow,
        r#"SELECT actor, action AS "action: OperatorAction", reason, at FROM operator_actions
            WHERE instance_id = $1 ORDER BY at, id"#,
        instance_id,
    )
    .fetch_all(db)
    .await
}
