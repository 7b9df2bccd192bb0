//! The PostgreSQL dialect of [`super`]'s queries: the same statements, checked by the
//! test suite run on PostgreSQL (`APPROVALS_TEST_POSTGRES`).

use sqlx::{PgExecutor, PgPool, QueryBuilder};

use super::{
    Finish, InsertError, LevelApproval, LevelWrite, OperatorAction, OperatorActionRow, OrderFacts,
    OrderQuery, OrderRow, TimelineRow, WaitingSummary, POSTGRES,
};
use crate::model::workflow::LevelAsk;
use domain::{Decision, OrderStatus, Role};

pub(super) async fn insert_submitted(
    db: impl PgExecutor<'_>,
    facts: &OrderFacts,
    now: i64,
) -> Result<OrderRow, InsertError> {
    let total = facts.total();
    let result = sqlx::query_as::<_, OrderRow>(
        "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
            total_cents, status, created_at, updated_at, requested_by)
         VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, $7, $8)
         RETURNING *",
    )
    .bind(&facts.instance_id)
    .bind(&facts.order_id)
    .bind(&facts.product)
    .bind(facts.quantity)
    .bind(facts.unit_cost)
    .bind(total)
    .bind(now)
    .bind(&facts.requested_by)
    .fetch_one(db)
    .await;
    match result {
        Ok(row) => Ok(row),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(InsertError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn delete_submitted(db: &PgPool, instance_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM orders WHERE instance_id = $1 AND status = 'submitted'")
        .bind(instance_id)
        .execute(db)
        .await?;
    Ok(())
}

pub(super) async fn mark_awaiting(
    db: impl PgExecutor<'_>,
    facts: &OrderFacts,
    deadline: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let total = facts.total();
    sqlx::query(
        "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
            total_cents, status, created_at, deadline, updated_at, requested_by,
            approval_requested_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'awaiting_approval', $7, $8, $7, $9, $7)
         ON CONFLICT (instance_id) DO UPDATE
            SET status = 'awaiting_approval', deadline = excluded.deadline,
                updated_at = excluded.updated_at,
                approval_requested_at = excluded.approval_requested_at
          WHERE orders.status = 'submitted'",
    )
    .bind(&facts.instance_id)
    .bind(&facts.order_id)
    .bind(&facts.product)
    .bind(facts.quantity)
    .bind(facts.unit_cost)
    .bind(total)
    .bind(now)
    .bind(deadline)
    .bind(&facts.requested_by)
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn mark_awaiting_level(
    db: &PgPool,
    facts: &OrderFacts,
    ask: &LevelAsk,
    write: &LevelWrite,
    deadline: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let LevelWrite { number, of, .. } = *write;
    let mut tx = db.begin().await?;
    mark_awaiting(&mut *tx, facts, deadline, now).await?;
    for (level, by) in (1_i64..).zip(&ask.approved_by) {
        sqlx::query(
            "INSERT INTO order_approvals (instance_id, level, role, requested_at, approved_by,
                                          comment, approved_at)
             SELECT instance_id, $1,
                    CASE WHEN level = $1 THEN level_role END,
                    CASE WHEN level = $1 THEN approval_requested_at END,
                    $2,
                    CASE WHEN level = $1 AND decided_by = $2 THEN decision_comment END,
                    COALESCE(CASE WHEN level = $1 AND decided_by = $2 THEN claimed_at END, $3)
               FROM orders WHERE instance_id = $4
             ON CONFLICT (instance_id, level) DO NOTHING",
        )
        .bind(level)
        .bind(by)
        .bind(now)
        .bind(&facts.instance_id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE orders SET status = 'awaiting_approval', deadline = $1, level = $2, levels = $3,
                level_role = $4, level_approvers = $5, approval_requested_at = $6,
                decision = NULL, decided_by = NULL, decision_comment = NULL,
                claimed_at = NULL, updated_at = $6
          WHERE instance_id = $7
            AND (status = 'submitted'
                 OR (status = 'awaiting_approval'
                     AND (COALESCE(level, 0) < $2
                          OR (level = $2 AND $8 AND level_role IS DISTINCT FROM $4))))",
    )
    .bind(deadline)
    .bind(number)
    .bind(of)
    .bind(ask.role)
    .bind(write.approvers.to_stored())
    .bind(now)
    .bind(&facts.instance_id)
    .bind(ask.escalated)
    .execute(&mut *tx)
    .await?;
    if let Some((key, label)) = &write.escalation {
        add_timeline(&mut *tx, &facts.instance_id, key, label, now).await?;
    }
    tx.commit().await
}

pub(super) async fn add_timeline(
    db: impl PgExecutor<'_>,
    instance_id: &str,
    key: &str,
    label: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_timeline (instance_id, key, at, label) VALUES ($1, $2, $3, $4)
         ON CONFLICT (instance_id, key) DO NOTHING",
    )
    .bind(instance_id)
    .bind(key)
    .bind(at)
    .bind(label)
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn timeline(
    db: &PgPool,
    instance_id: &str,
) -> Result<Vec<TimelineRow>, sqlx::Error> {
    sqlx::query_as::<_, TimelineRow>(
        "SELECT at, label FROM order_timeline WHERE instance_id = $1 ORDER BY at, key",
    )
    .bind(instance_id)
    .fetch_all(db)
    .await
}

pub(super) async fn level_approvals(
    db: &PgPool,
    instance_id: &str,
) -> Result<Vec<LevelApproval>, sqlx::Error> {
    sqlx::query_as::<_, LevelApproval>(
        "SELECT level, role, requested_at, approved_by, comment, approved_at
           FROM order_approvals WHERE instance_id = $1 ORDER BY level",
    )
    .bind(instance_id)
    .fetch_all(db)
    .await
}

pub(super) async fn record_outcome(
    db: &PgPool,
    facts: &OrderFacts,
    status: OrderStatus,
    decided_by: Option<&str>,
    decided_at: i64,
    placed_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let total = facts.total();
    let result = sqlx::query(
        "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
            total_cents, status, created_at, decided_by, decided_at, updated_at, requested_by,
            placed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8, $11, $12)
         ON CONFLICT (instance_id) DO UPDATE
            SET status = excluded.status, decided_by = excluded.decided_by,
                decided_at = excluded.decided_at, updated_at = excluded.updated_at,
                placed_at = excluded.placed_at, attention = NULL, attention_since = NULL
          WHERE orders.status NOT IN
                ('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')",
    )
    .bind(&facts.instance_id)
    .bind(&facts.order_id)
    .bind(&facts.product)
    .bind(facts.quantity)
    .bind(facts.unit_cost)
    .bind(total)
    .bind(status)
    .bind(now)
    .bind(decided_by)
    .bind(decided_at)
    .bind(&facts.requested_by)
    .bind(placed_at)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn finish_row(db: impl PgExecutor<'_>, end: &Finish) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE orders SET status = $1, decided_by = $2,
            decided_at = $3, failure = $4, updated_at = $5, placed_at = COALESCE(placed_at, $6),
            attention = $7, attention_since = $8
          WHERE instance_id = $9 AND status NOT IN
                ('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')",
    )
    .bind(end.status)
    .bind(&end.decided_by)
    .bind(end.decided_at)
    .bind(&end.failure)
    .bind(end.now)
    .bind(end.placed_at())
    .bind(end.attention())
    .bind(end.attention_since())
    .bind(&end.instance_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn claim_decision(
    db: &PgPool,
    instance_id: &str,
    level: Option<i64>,
    role: Option<Role>,
    decision: Decision,
    by: &str,
    comment: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE orders SET decision = $1, decided_by = $2, decision_comment = $3,
                claimed_at = $4, updated_at = $4
          WHERE instance_id = $5 AND status = 'awaiting_approval' AND decision IS NULL
            AND (deadline IS NULL OR deadline > $4) AND level IS NOT DISTINCT FROM $6
            AND level_role IS NOT DISTINCT FROM $7",
    )
    .bind(decision)
    .bind(by)
    .bind(comment)
    .bind(now)
    .bind(instance_id)
    .bind(level)
    .bind(role)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn release_claim(
    db: &PgPool,
    instance_id: &str,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET decision = NULL, decided_by = NULL, decision_comment = NULL,
                claimed_at = NULL
          WHERE instance_id = $1 AND status = 'awaiting_approval' AND decided_by = $2",
    )
    .bind(instance_id)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn get(db: &PgPool, instance_id: &str) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as::<_, OrderRow>("SELECT * FROM orders WHERE instance_id = $1")
        .bind(instance_id)
        .fetch_optional(db)
        .await
}

pub(super) async fn list(
    db: &PgPool,
    query: &OrderQuery,
    limit: i64,
    offset: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let mut q = query.listing("SELECT * FROM orders", &POSTGRES);
    q.push(" LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    q.build_query_as::<OrderRow>().fetch_all(db).await
}

pub(super) async fn count(db: &PgPool, query: &OrderQuery) -> Result<i64, sqlx::Error> {
    let mut q = QueryBuilder::new("SELECT COUNT(*) FROM orders");
    query.push_filters(&mut q, false, &POSTGRES);
    let (n,): (i64,) = q.build_query_as().fetch_one(db).await?;
    Ok(n)
}

pub(super) async fn unsettled(
    db: &PgPool,
    everything: bool,
    stuck_before: i64,
    after: &str,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as::<_, OrderRow>(
        "SELECT * FROM orders
          WHERE status IN ('submitted', 'awaiting_approval') AND instance_id > $1
            AND ($2 OR (status = 'submitted' AND updated_at < $3)
                   OR claimed_at < $3 OR deadline < $3 OR attention IS NOT NULL)
          ORDER BY instance_id LIMIT $4",
    )
    .bind(after)
    .bind(everything)
    .bind(stuck_before)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub(super) async fn set_attention(
    db: &PgPool,
    instance_id: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let since = reason.map(|_| now);
    let result = sqlx::query(
        "UPDATE orders SET attention = $1,
                attention_since = CASE WHEN $2::BIGINT IS NULL THEN NULL
                                       ELSE COALESCE(attention_since, $2) END
          WHERE instance_id = $3 AND attention IS DISTINCT FROM $1
            AND status IN ('submitted', 'awaiting_approval')",
    )
    .bind(reason)
    .bind(since)
    .bind(instance_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn waiting_summary(db: &PgPool) -> Result<WaitingSummary, sqlx::Error> {
    sqlx::query_as::<_, WaitingSummary>(
        "SELECT COUNT(*) AS waiting, MIN(created_at) AS oldest_since,
                (SELECT COUNT(*) FROM orders WHERE attention IS NOT NULL) AS needing_attention
           FROM orders WHERE status = 'awaiting_approval'",
    )
    .fetch_one(db)
    .await
}

pub(super) async fn needing_attention(
    db: &PgPool,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as::<_, OrderRow>(
        "SELECT * FROM orders
          WHERE attention IS NOT NULL ORDER BY attention_since, instance_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

pub(super) async fn terminate(
    db: &PgPool,
    instance_id: &str,
    actor: &str,
    reason: &str,
    failure: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let result = sqlx::query(
        "UPDATE orders SET status = 'failed', failure = $1, decided_at = $2, updated_at = $2,
                attention = NULL, attention_since = NULL
          WHERE instance_id = $3 AND status IN ('submitted', 'awaiting_approval', 'failed')",
    )
    .bind(failure)
    .bind(now)
    .bind(instance_id)
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

pub(super) async fn record_operator_action(
    db: impl PgExecutor<'_>,
    instance_id: &str,
    actor: &str,
    action: OperatorAction,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO operator_actions (instance_id, actor, action, reason, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(instance_id)
    .bind(actor)
    .bind(action)
    .bind(reason)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn operator_actions(
    db: &PgPool,
    instance_id: &str,
) -> Result<Vec<OperatorActionRow>, sqlx::Error> {
    sqlx::query_as::<_, OperatorActionRow>(
        "SELECT actor, action, reason, at FROM operator_actions
          WHERE instance_id = $1 ORDER BY at, id",
    )
    .bind(instance_id)
    .fetch_all(db)
    .await
}
