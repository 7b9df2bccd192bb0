//! The read model: one row per order/workflow instance in SQL, because Dapr cannot list
//! instances. Written only by the start path, the workflow's activities, the decision
//! claim and the reconciler; every write is idempotent or conditional so that a
//! replayed activity or a race cannot move an order backwards.

use sqlx::FromRow;

use crate::model::order::{OrderFacts, OrderQuery, OrderRow};
use crate::model::people::Actor;
use crate::model::workflow::LevelAsk;
use crate::store::db::Db;
use domain::{Cents, Decision, OrderStatus, Role, SortKey};

mod pg;

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("an order with this id already exists")]
    Duplicate,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

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
        write.approvers,
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

/// What asking for a level writes besides the statements themselves, worked out once
/// for both databases.
pub(crate) struct LevelWrite {
    pub number: i64,
    pub of: i64,
    /// Everyone who took part in an approval ("carol for dora": both), for four eyes.
    pub approvers: Option<String>,
    /// The timeline entry (key, label) of an escalation.
    pub escalation: Option<(String, String)>,
}

impl LevelWrite {
    fn of(ask: &LevelAsk) -> Self {
        let (number, of) = (i64::from(ask.number), i64::from(ask.of));
        let approvers = (!ask.approved_by.is_empty()).then(|| {
            ask.approved_by
                .iter()
                .flat_map(|record| Actor::parse(record).into_people())
                .collect::<Vec<_>>()
                .join(",")
        });
        let escalation = ask.escalated.then(|| {
            (
                format!("escalated:{number}"),
                format!(
                    "Nobody decided in time: asked a {} instead (level {number} of {of})",
                    ask.role.as_str()
                ),
            )
        });
        Self {
            number,
            of,
            approvers,
            escalation,
        }
    }
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

/// When an order with `status` was placed, if it was: an approval the workflow decided
/// is placed as it is recorded.
fn placed_at(status: OrderStatus, now: i64) -> Option<i64> {
    (status == OrderStatus::Approved).then_some(now)
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

/// A workflow's end, for a row we already hold (see [`finish`]).
#[derive(Debug, Clone)]
pub struct Finish {
    pub instance_id: String,
    pub status: OrderStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub failure: Option<String>,
    pub now: i64,
}

impl Finish {
    /// An approval the workflow decided but could not record is placed here.
    pub(crate) fn placed_at(&self) -> Option<i64> {
        placed_at(self.status, self.now)
    }

    /// A failed order needs an operator, with the reason; any other outcome settles
    /// what was pending.
    pub(crate) fn attention(&self) -> Option<&str> {
        (self.status == OrderStatus::Failed)
            .then(|| self.failure.as_deref().unwrap_or("workflow failed"))
    }

    pub(crate) fn attention_since(&self) -> Option<i64> {
        self.attention().map(|_| self.now)
    }
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

/// Where the two databases' SQL differs in the filters built at run time.
pub(crate) struct Dialect {
    /// Always false and always true, as the database writes them in an `OR` chain.
    no: &'static str,
    yes: &'static str,
    /// The position of one string in another (0: not in it).
    position: &'static str,
    /// A match that ignores ASCII case (SQLite's `LIKE` does).
    like_any_case: &'static str,
    /// `status` as a listing of decided orders filters on it; see `push_filters`.
    listing_status: &'static str,
    /// The sort orders of [`OrderQuery::order_by`], keeping SQLite's place for NULLs
    /// (before every value) where the other database must be told.
    deadline_first: &'static str,
    decided_last_first: &'static str,
}

pub(crate) const SQLITE: Dialect = Dialect {
    no: "0",
    yes: "1",
    position: "instr",
    like_any_case: "LIKE",
    // `+status` keeps SQLite off the status index: walking `orders_by_decided` in
    // order and skipping pending rows beats sorting every decided order for each page
    // (measured 35 ms → 0.1 ms for a first page at 18,000 decided). A count is
    // fastest on the status index.
    listing_status: "+status",
    deadline_first: " ORDER BY deadline, instance_id",
    decided_last_first: " ORDER BY decided_at DESC, instance_id DESC",
};

/// PostgreSQL sorts NULLs last going up; its indexes hold `NULLS FIRST` (see its
/// schema), so a page is read off them in SQLite's order.
pub(crate) const POSTGRES: Dialect = Dialect {
    no: "FALSE",
    yes: "TRUE",
    position: "strpos",
    like_any_case: "ILIKE",
    listing_status: "status",
    deadline_first: " ORDER BY deadline NULLS FIRST, instance_id",
    decided_last_first: " ORDER BY decided_at DESC NULLS LAST, instance_id DESC",
};

impl OrderQuery {
    /// `listing`: the rows themselves are wanted, in [`Self::order_by`] order (not a
    /// count). One builder for both databases, so that who sees which order (the
    /// deciders' filter) is written once.
    pub(crate) fn push_filters<'a, DB>(
        &self,
        q: &mut sqlx::QueryBuilder<'a, DB>,
        listing: bool,
        dialect: &Dialect,
    ) where
        DB: sqlx::Database,
        OrderStatus: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        Role: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        q.push(format!(" WHERE {} ", dialect.yes));
        if let Some(status) = self.status {
            q.push(" AND status = ").push_bind(status);
        }
        if self.decided_only {
            let column = if listing {
                dialect.listing_status
            } else {
                "status"
            };
            q.push(format!(" AND {column} IN {FINAL_STATUSES}"));
        }
        if let Some(who) = &self.requested_by {
            q.push(" AND requested_by = ").push_bind(who.clone());
        }
        if !self.deciders.is_empty() {
            q.push(format!(" AND ({}", dialect.no));
            for decider in &self.deciders {
                q.push(format!(" OR ({}", dialect.yes));
                if decider.role != Role::Director {
                    q.push(" AND (level_role IS NULL OR level_role = ")
                        .push_bind(decider.role)
                        .push(")");
                }
                for name in &decider.people {
                    q.push(format!(
                        " AND {}(',' || COALESCE(level_approvers, '') || ',', ",
                        dialect.position
                    ))
                    .push_bind(format!(",{name},"))
                    .push(") = 0");
                }
                q.push(")");
            }
            q.push(")");
        }
        if let Some(text) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let escaped = text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            let like = dialect.like_any_case;
            q.push(format!(" AND (order_id {like} "))
                .push_bind(pattern.clone())
                .push(format!(" ESCAPE '\\' OR product {like} "))
                .push_bind(pattern.clone())
                .push(format!(" ESCAPE '\\' OR requested_by {like} "))
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
    }

    /// `select` with this query's filters and order.
    pub(crate) fn listing<'a, DB>(
        &self,
        select: &'a str,
        dialect: &Dialect,
    ) -> sqlx::QueryBuilder<'a, DB>
    where
        DB: sqlx::Database,
        OrderStatus: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        Role: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        let mut q = sqlx::QueryBuilder::new(select);
        self.push_filters(&mut q, true, dialect);
        q.push(self.order_by(dialect));
        q
    }

    /// A chosen sort, or else: pending orders soonest deadline first (what a manager
    /// should look at next), decided ones most recently decided first, everything else
    /// newest first. Ties go by instance id in the same direction, so each order
    /// matches one index (the `list_indexes` and `sort_indexes` migrations).
    fn order_by(&self, dialect: &Dialect) -> &'static str {
        match self.sort {
            Some(SortKey::Deadline) => dialect.deadline_first,
            Some(SortKey::Amount) => " ORDER BY total_cents DESC, instance_id DESC",
            Some(SortKey::Created) => " ORDER BY created_at DESC, instance_id DESC",
            None if self.status == Some(OrderStatus::AwaitingApproval) => dialect.deadline_first,
            None if self.decided_only => dialect.decided_last_first,
            None => " ORDER BY created_at DESC, instance_id DESC",
        }
    }
}

pub async fn list(
    db: &Db,
    query: &OrderQuery,
    limit: i64,
    offset: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::list(db, query, limit, offset).await,
    };
    let mut q = query.listing("SELECT * FROM orders", &SQLITE);
    q.push(" LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    q.build_query_as::<OrderRow>().fetch_all(db).await
}

pub async fn count(db: &Db, query: &OrderQuery) -> Result<i64, sqlx::Error> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return pg::count(db, query).await,
    };
    let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM orders");
    query.push_filters(&mut q, false, &SQLITE);
    let (n,): (i64,) = q.build_query_as().fetch_one(db).await?;
    Ok(n)
}

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

/// The waiting orders at a glance, for the metrics: how many, since when the oldest
/// (ms), and how many orders need an operator. Both counts are read off indexes.
#[derive(FromRow)]
pub struct WaitingSummary {
    pub waiting: i64,
    pub oldest_since: Option<i64>,
    pub needing_attention: i64,
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
async fn record_operator_action_on(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::order::Decider;

    async fn fresh_db() -> (Db, tempfile::TempDir) {
        crate::store::db::temporary()
            .await
            .expect("a fresh database")
    }

    /// Puts an order in `status` directly, whatever it was.
    async fn set_status(db: &Db, instance_id: &str, status: OrderStatus) {
        let written = match db {
            Db::Sqlite(pool) => sqlx::query("UPDATE orders SET status = ? WHERE instance_id = ?")
                .bind(status)
                .bind(instance_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
            Db::Postgres(pool) => {
                sqlx::query("UPDATE orders SET status = $1 WHERE instance_id = $2")
                    .bind(status)
                    .bind(instance_id)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            }
        };
        assert_eq!(written.expect("set status"), 1);
    }

    fn facts(i: i64, requester: &str) -> OrderFacts {
        OrderFacts {
            instance_id: format!("po-{i:03}"),
            order_id: format!("{i:03}"),
            product: format!("Product {i}"),
            quantity: 1,
            unit_cost: Cents(200_000),
            requested_by: Some(requester.into()),
        }
    }

    /// 60 waiting orders (deadlines in tied groups of 20) and 40 decided ones (decision
    /// times in tied groups of 10), from two requesters.
    async fn seeded() -> (Db, tempfile::TempDir) {
        let (db, dir) = fresh_db().await;
        seed(&db).await;
        (db, dir)
    }

    /// The same orders in a SQLite database, whatever the round's database: for the
    /// tests of SQLite's query plans.
    async fn seeded_sqlite() -> (sqlx::SqlitePool, tempfile::TempDir) {
        let (pool, dir) = crate::store::db::temporary_sqlite().await;
        seed(&Db::Sqlite(pool.clone())).await;
        (pool, dir)
    }

    async fn seed(db: &Db) {
        for i in 0..100 {
            let f = facts(i, if i % 2 == 0 { "alice" } else { "dave" });
            // Creation times tie in groups of 5.
            let created = 1_000 + i / 5;
            mark_awaiting(db, &f, 50_000 + i % 3, created)
                .await
                .expect("waits");
            if i >= 60 {
                record_outcome(
                    db,
                    &f,
                    OrderStatus::Approved,
                    Some("bob"),
                    60_000 + i % 4,
                    60_000,
                )
                .await
                .expect("decided");
            }
        }
    }

    fn queries() -> Vec<(&'static str, OrderQuery)> {
        vec![
            (
                "pending",
                OrderQuery {
                    status: Some(OrderStatus::AwaitingApproval),
                    ..Default::default()
                },
            ),
            (
                "decided",
                OrderQuery {
                    decided_only: true,
                    ..Default::default()
                },
            ),
            (
                "approved",
                OrderQuery {
                    status: Some(OrderStatus::Approved),
                    ..Default::default()
                },
            ),
            (
                "one requester",
                OrderQuery {
                    requested_by: Some("alice".into()),
                    ..Default::default()
                },
            ),
            ("everything", OrderQuery::default()),
            (
                "a manager's inbox",
                OrderQuery {
                    status: Some(OrderStatus::AwaitingApproval),
                    deciders: vec![Decider {
                        role: Role::Manager,
                        people: vec!["bob".into()],
                    }],
                    ..Default::default()
                },
            ),
        ]
    }

    #[tokio::test]
    async fn paging_visits_every_order_once_in_order() {
        let (db, _dir) = seeded().await;
        for (name, query) in queries() {
            let total = count(&db, &query).await.expect("counts");
            let all = list(&db, &query, 1_000, 0).await.expect("lists");
            assert_eq!(all.len() as i64, total, "{name}");
            // Pending: soonest deadline first, ties by instance id. The rest: latest
            // first, ties by instance id descending.
            let mut expected = all.clone();
            expected.sort_by(|a, b| match name {
                "pending" | "a manager's inbox" => {
                    (a.deadline, &a.instance_id).cmp(&(b.deadline, &b.instance_id))
                }
                "decided" => (b.decided_at, &b.instance_id).cmp(&(a.decided_at, &a.instance_id)),
                _ => (b.created_at, &b.instance_id).cmp(&(a.created_at, &a.instance_id)),
            });
            let ids = |rows: &[OrderRow]| {
                rows.iter()
                    .map(|r| r.instance_id.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(&all), ids(&expected), "{name}: order");
            let mut paged = Vec::new();
            for offset in (0..total).step_by(7) {
                paged.extend(list(&db, &query, 7, offset).await.expect("pages"));
            }
            assert_eq!(ids(&paged), ids(&all), "{name}: pages");
        }
    }

    /// Each list is read in order straight off an index: no per-request sort of the
    /// whole set, and OFFSET skips index entries. (SQLite plans the same for 10 rows as
    /// for 10,000 here: no ANALYZE statistics are kept.)
    #[tokio::test]
    async fn every_list_reads_its_order_off_an_index() {
        let (pool, _dir) = seeded_sqlite().await;
        let pool = &pool;
        for (name, query) in queries() {
            let mut q = query.listing("EXPLAIN QUERY PLAN SELECT * FROM orders", &SQLITE);
            let plan: Vec<(i64, i64, i64, String)> =
                q.build_query_as().fetch_all(pool).await.expect("explains");
            let plan: Vec<String> = plan.into_iter().map(|(_, _, _, step)| step).collect();
            assert!(
                plan.iter().all(|step| !step.contains("TEMP B-TREE")),
                "{name} sorts per request: {plan:?}"
            );
            assert!(
                plan.iter().any(|step| step.contains("INDEX")),
                "{name} scans the table: {plan:?}"
            );
        }
    }

    /// An inbox, filtered to what its reader may decide, is read and counted off the
    /// index it walks, whatever its sort: the table is read only for the rows shown.
    #[tokio::test]
    async fn an_inbox_filters_and_counts_off_its_index() {
        let (pool, _dir) = seeded_sqlite().await;
        let pool = &pool;
        for sort in [
            None,
            Some(SortKey::Deadline),
            Some(SortKey::Amount),
            Some(SortKey::Created),
        ] {
            let query = OrderQuery {
                status: Some(OrderStatus::AwaitingApproval),
                deciders: vec![Decider {
                    role: Role::Manager,
                    people: vec!["bob".into()],
                }],
                sort,
                ..Default::default()
            };
            let mut q = sqlx::QueryBuilder::new("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM orders");
            query.push_filters(&mut q, false, &SQLITE);
            let plan: Vec<(i64, i64, i64, String)> =
                q.build_query_as().fetch_all(pool).await.expect("explains");
            assert!(
                plan.iter()
                    .any(|(_, _, _, step)| step.contains("COVERING INDEX")),
                "{sort:?}: the count reads the table: {plan:?}"
            );
        }
    }

    #[test]
    fn final_statuses_in_sql_are_the_final_ones() {
        let expected: Vec<String> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(FINAL_STATUSES, format!("({})", expected.join(", ")));
    }

    /// The static queries spell the final statuses out: a row in a final status is
    /// never moved again, one in any other status is.
    #[tokio::test]
    async fn final_rows_are_never_overwritten() {
        let (db, _dir) = fresh_db().await;
        for (i, status) in OrderStatus::ALL.into_iter().enumerate() {
            let f = facts(i as i64, "alice");
            mark_awaiting(&db, &f, 50_000, 1_000).await.expect("waits");
            set_status(&db, &f.instance_id, status).await;
            let recorded = record_outcome(&db, &f, OrderStatus::Rejected, Some("bob"), 2, 2)
                .await
                .expect("records");
            let finished = finish(
                &db,
                &f.instance_id,
                OrderStatus::Failed,
                None,
                None,
                None,
                3,
            )
            .await
            .expect("finishes");
            assert_eq!(recorded, !status.is_final(), "record_outcome on {status}");
            assert!(!finished, "finish after an outcome on {status}");
        }
    }

    #[tokio::test]
    async fn an_unknown_status_in_the_database_is_an_error() {
        let (db, _dir) = fresh_db().await;
        mark_awaiting(&db, &facts(1, "alice"), 50_000, 1_000)
            .await
            .expect("waits");
        // The CHECK constraint keeps unknown statuses out; a value only a newer build
        // knows would look like this to us.
        const UNKNOWN: &str = "UPDATE orders SET status = 'escalated' WHERE instance_id = 'po-001'";
        match &db {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await.expect("connection");
                sqlx::query("PRAGMA ignore_check_constraints = ON")
                    .execute(&mut *conn)
                    .await
                    .expect("pragma");
                sqlx::query(UNKNOWN)
                    .execute(&mut *conn)
                    .await
                    .expect("written past the check");
            }
            Db::Postgres(pool) => {
                sqlx::query("ALTER TABLE orders DROP CONSTRAINT orders_status_check")
                    .execute(pool)
                    .await
                    .expect("the check dropped");
                sqlx::query(UNKNOWN)
                    .execute(pool)
                    .await
                    .expect("written past the check");
            }
        }
        let read = get(&db, "po-001").await;
        assert!(read.is_err(), "read as {read:?}");
    }

    /// Whoever had claimed an order that then timed out or failed did not decide it.
    #[tokio::test]
    async fn a_claimant_is_never_shown_as_deciding_a_timeout_or_failure() {
        let (db, _dir) = fresh_db().await;
        for (i, outcome) in [OrderStatus::TimedOut, OrderStatus::Failed]
            .into_iter()
            .enumerate()
        {
            let f = facts(i as i64, "alice");
            mark_awaiting(&db, &f, 50_000, 1_000).await.expect("waits");
            assert!(claim_decision(
                &db,
                &f.instance_id,
                None,
                None,
                Decision::Approve,
                "bob",
                Some("ok"),
                2_000
            )
            .await
            .expect("claims"));
            assert!(
                finish(&db, &f.instance_id, outcome, None, Some(3_000), None, 3_000)
                    .await
                    .expect("finishes")
            );
            let view = get(&db, &f.instance_id)
                .await
                .expect("reads")
                .expect("row")
                .view();
            assert_eq!(view.status, outcome);
            assert_eq!(view.decided_by, None, "{outcome}");
            assert_eq!(view.comment, None, "{outcome}");
        }
    }

    #[tokio::test]
    async fn asking_the_next_level_keeps_the_approval_and_never_goes_back() {
        let (db, _dir) = fresh_db().await;
        let f = facts(1, "alice");
        let ask = |number: u32, approved_by: &[&str]| LevelAsk {
            number,
            of: 2,
            role: if number == 1 {
                Role::Manager
            } else {
                Role::Director
            },
            approved_by: approved_by.iter().map(|n| n.to_string()).collect(),
            escalated: false,
        };
        mark_awaiting_level(&db, &f, &ask(1, &[]), 50_000, 1_000)
            .await
            .expect("level 1");
        let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
        assert_eq!(
            (row.level, row.levels, row.level_role),
            (Some(1), Some(2), Some(Role::Manager))
        );
        assert!(
            !claim_decision(
                &db,
                &f.instance_id,
                Some(2),
                Some(Role::Manager),
                Decision::Approve,
                "bob",
                None,
                2_000
            )
            .await
            .expect("claims"),
            "a claim for another level than the order's is refused"
        );
        assert!(claim_decision(
            &db,
            &f.instance_id,
            Some(1),
            Some(Role::Manager),
            Decision::Approve,
            "bob",
            Some("fine"),
            2_000
        )
        .await
        .expect("claims"));

        for _ in 0..2 {
            mark_awaiting_level(&db, &f, &ask(2, &["bob"]), 90_000, 3_000)
                .await
                .expect("level 2, as often as the activity runs");
        }
        // A late replay of level 1's request moves nothing back.
        mark_awaiting_level(&db, &f, &ask(1, &[]), 50_000, 4_000)
            .await
            .expect("level 1 again");
        let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
        assert_eq!(
            (row.level, row.level_role, row.deadline),
            (Some(2), Some(Role::Director), Some(90_000))
        );
        assert_eq!(
            (row.decision, row.decided_by.as_deref()),
            (None, None),
            "the claim is free for level 2"
        );
        assert!(row.approved_a_level("bob") && !row.approved_a_level("bo"));
        let approvals = level_approvals(&db, &f.instance_id).await.expect("reads");
        assert_eq!(approvals.len(), 1);
        assert_eq!(
            (approvals[0].role, approvals[0].requested_at),
            (Some(Role::Manager), Some(1_000))
        );
        assert_eq!(
            (
                approvals[0].level,
                approvals[0].approved_by.as_str(),
                approvals[0].comment.as_deref(),
                approvals[0].approved_at
            ),
            (1, "bob", Some("fine"), 2_000)
        );
    }

    fn ids(rows: &[OrderRow]) -> Vec<&str> {
        rows.iter().map(|r| r.instance_id.as_str()).collect()
    }

    /// The text filter ignores case (SQLite's `LIKE` does for ASCII, PostgreSQL's
    /// `ILIKE` too) and takes `%`, `_` and `\` as themselves.
    #[tokio::test]
    async fn the_text_filter_ignores_case_and_takes_wildcards_literally() {
        let (db, _dir) = fresh_db().await;
        for (i, product, requester) in [
            (1, "Standing Desk", "alice"),
            (2, "desk lamp", "dave"),
            (3, "100% cotton", "alice"),
            (4, "1000 cotton buds", "alice"),
            (5, "a_b", "alice"),
            (6, "axb", "alice"),
            (7, r"back\slash", "DESKMAN"),
        ] {
            let f = OrderFacts {
                product: product.into(),
                ..facts(i, requester)
            };
            insert_submitted(&db, &f, 1_000 + i)
                .await
                .expect("inserted");
        }
        for (text, expected) in [
            ("DESK", vec!["po-007", "po-002", "po-001"]),
            ("  desk  ", vec!["po-007", "po-002", "po-001"]),
            ("0%", vec!["po-003"]),
            ("a_b", vec!["po-005"]),
            (r"k\s", vec!["po-007"]),
            (
                "ALICE",
                vec!["po-006", "po-005", "po-004", "po-003", "po-001"],
            ),
            ("004", vec!["po-004"]),
            ("nothing like it", vec![]),
        ] {
            let query = OrderQuery {
                text: Some(text.into()),
                ..Default::default()
            };
            let rows = list(&db, &query, 100, 0).await.expect("lists");
            assert_eq!(ids(&rows), expected, "{text:?}");
            assert_eq!(
                count(&db, &query).await.expect("counts"),
                expected.len() as i64,
                "{text:?}"
            );
        }
    }

    /// An inbox holds the orders whose level its readers' roles reach, and none that one
    /// of the people it is for approved at an earlier level.
    #[tokio::test]
    async fn an_inbox_leaves_out_what_its_readers_may_not_decide() {
        let (db, _dir) = fresh_db().await;
        // po-001: the seed's single level; po-002: level 1 of 2, for a manager;
        // po-003: level 2 of 2, for a director, bob (for carol) approved level 1.
        mark_awaiting(&db, &facts(1, "alice"), 50_000, 1_000)
            .await
            .expect("waits");
        let ask = |number: u32, role: Role, approved_by: &[&str]| LevelAsk {
            number,
            of: 2,
            role,
            approved_by: approved_by.iter().map(|n| n.to_string()).collect(),
            escalated: false,
        };
        mark_awaiting_level(
            &db,
            &facts(2, "alice"),
            &ask(1, Role::Manager, &[]),
            50_001,
            1_000,
        )
        .await
        .expect("level 1");
        let on_behalf = Actor::acting_for("bob", "carol").to_string();
        mark_awaiting_level(
            &db,
            &facts(3, "alice"),
            &ask(2, Role::Director, &[on_behalf.as_str()]),
            50_002,
            1_000,
        )
        .await
        .expect("level 2");
        let decider = |role: Role, people: &[&str]| Decider {
            role,
            people: people.iter().map(|n| n.to_string()).collect(),
        };
        for (deciders, expected) in [
            (
                vec![decider(Role::Manager, &["bob"])],
                vec!["po-001", "po-002"],
            ),
            (
                vec![decider(Role::Manager, &["dan"])],
                vec!["po-001", "po-002"],
            ),
            (
                vec![decider(Role::Director, &["dora"])],
                vec!["po-001", "po-002", "po-003"],
            ),
            (
                vec![decider(Role::Director, &["carol"])],
                vec!["po-001", "po-002"],
            ),
            (
                vec![decider(Role::Director, &["bob"])],
                vec!["po-001", "po-002"],
            ),
            // Not a prefix or part of a name: "bo" approved nothing.
            (
                vec![decider(Role::Director, &["bo"])],
                vec!["po-001", "po-002", "po-003"],
            ),
            // A manager acting for a director who approved nothing.
            (
                vec![
                    decider(Role::Manager, &["bob"]),
                    decider(Role::Director, &["dora"]),
                ],
                vec!["po-001", "po-002", "po-003"],
            ),
            // The same manager acting for the director who approved level 1.
            (
                vec![
                    decider(Role::Manager, &["bob"]),
                    decider(Role::Director, &["bob", "carol"]),
                ],
                vec!["po-001", "po-002"],
            ),
        ] {
            let query = OrderQuery {
                status: Some(OrderStatus::AwaitingApproval),
                deciders: deciders.clone(),
                ..Default::default()
            };
            let rows = list(&db, &query, 100, 0).await.expect("lists");
            assert_eq!(ids(&rows), expected, "{deciders:?}");
            assert_eq!(
                count(&db, &query).await.expect("counts"),
                expected.len() as i64,
                "{deciders:?}"
            );
        }
    }

    /// Orders without a deadline or a decision time sort as SQLite sorts NULLs: before
    /// every value going up, after every value going down.
    #[tokio::test]
    async fn orders_without_the_sorted_value_sort_before_the_rest_going_up() {
        let (db, _dir) = fresh_db().await;
        for i in 1..=4 {
            insert_submitted(&db, &facts(i, "alice"), 1_000 + i)
                .await
                .expect("inserted");
        }
        mark_awaiting(&db, &facts(2, "alice"), 60_000, 2_000)
            .await
            .expect("waits");
        mark_awaiting(&db, &facts(3, "alice"), 50_000, 2_000)
            .await
            .expect("waits");
        // po-002 is decided at a time, po-004 fails with none.
        assert!(finish(
            &db,
            "po-002",
            OrderStatus::Approved,
            Some("bob"),
            Some(3_000),
            None,
            3_000
        )
        .await
        .expect("finishes"));
        assert!(finish(
            &db,
            "po-004",
            OrderStatus::Failed,
            None,
            None,
            Some("boom"),
            3_000
        )
        .await
        .expect("finishes"));
        let by_deadline = OrderQuery {
            sort: Some(SortKey::Deadline),
            ..Default::default()
        };
        let rows = list(&db, &by_deadline, 100, 0).await.expect("lists");
        assert_eq!(ids(&rows), ["po-001", "po-004", "po-003", "po-002"]);
        let decided = OrderQuery {
            decided_only: true,
            ..Default::default()
        };
        let rows = list(&db, &decided, 100, 0).await.expect("lists");
        assert_eq!(ids(&rows), ["po-002", "po-004"]);
        assert_eq!(count(&db, &decided).await.expect("counts"), 2);
        let failed = get(&db, "po-004").await.expect("reads").expect("row");
        assert_eq!(
            (failed.attention.as_deref(), failed.attention_since),
            (Some("boom"), Some(3_000))
        );
    }

    /// The writes and reads around an order that needs an operator, and its timeline.
    #[tokio::test]
    async fn an_order_in_trouble_is_flagged_terminated_and_recorded() {
        let (db, _dir) = fresh_db().await;
        let f = facts(1, "alice");
        let row = insert_submitted(&db, &f, 1_000).await.expect("inserted");
        assert_eq!(
            (row.status, row.total_cents, row.created_at, row.updated_at),
            (OrderStatus::Submitted, Cents(200_000), 1_000, 1_000)
        );
        assert!(matches!(
            insert_submitted(&db, &f, 1_001).await,
            Err(InsertError::Duplicate)
        ));
        mark_awaiting(&db, &f, 50_000, 2_000).await.expect("waits");
        mark_awaiting(&db, &facts(2, "dave"), 40_000, 1_500)
            .await
            .expect("waits");

        // Stuck: past its deadline by `stuck_before`, or needing attention.
        let unsettled_ids = |everything, stuck_before, after: &'static str| {
            let db = db.clone();
            async move {
                unsettled(&db, everything, stuck_before, after, 10)
                    .await
                    .expect("reads")
                    .into_iter()
                    .map(|r| r.instance_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(unsettled_ids(true, 0, "").await, ["po-001", "po-002"]);
        assert_eq!(unsettled_ids(true, 0, "po-001").await, ["po-002"]);
        assert!(unsettled_ids(false, 30_000, "").await.is_empty());
        assert_eq!(unsettled_ids(false, 45_000, "").await, ["po-002"]);

        assert!(set_attention(&db, "po-001", Some("stuck"), 3_000)
            .await
            .expect("flags"));
        assert!(
            !set_attention(&db, "po-001", Some("stuck"), 4_000)
                .await
                .expect("flags"),
            "the same reason again writes nothing"
        );
        assert!(set_attention(&db, "po-001", Some("stuck worse"), 5_000)
            .await
            .expect("flags"));
        let row = get(&db, "po-001").await.expect("reads").expect("row");
        assert_eq!(
            (row.attention.as_deref(), row.attention_since),
            (Some("stuck worse"), Some(3_000)),
            "it needs attention since it first did"
        );
        assert_eq!(unsettled_ids(false, 0, "").await, ["po-001"]);
        let summary = waiting_summary(&db).await.expect("summarises");
        assert_eq!(
            (
                summary.waiting,
                summary.oldest_since,
                summary.needing_attention
            ),
            (2, Some(1_000), 1)
        );
        let stuck = needing_attention(&db, 10).await.expect("reads");
        assert_eq!(ids(&stuck), ["po-001"]);
        assert!(set_attention(&db, "po-001", None, 6_000)
            .await
            .expect("clears"));
        assert!(!set_attention(&db, "po-001", None, 6_000)
            .await
            .expect("clears"));
        let row = get(&db, "po-001").await.expect("reads").expect("row");
        assert_eq!((row.attention, row.attention_since), (None, None));
        assert!(needing_attention(&db, 10).await.expect("reads").is_empty());

        // A claim, given back by its holder only.
        assert!(claim_decision(
            &db,
            "po-001",
            None,
            None,
            Decision::Reject,
            "bob",
            None,
            7_000
        )
        .await
        .expect("claims"));
        release_claim(&db, "po-001", "carol")
            .await
            .expect("releases");
        assert_eq!(
            get(&db, "po-001")
                .await
                .expect("reads")
                .expect("row")
                .decision,
            Some(Decision::Reject)
        );
        release_claim(&db, "po-001", "bob").await.expect("releases");
        let row = get(&db, "po-001").await.expect("reads").expect("row");
        assert_eq!(
            (row.decision, row.decided_by, row.claimed_at),
            (None, None, None)
        );
        assert!(
            !claim_decision(
                &db,
                "po-001",
                None,
                None,
                Decision::Approve,
                "bob",
                None,
                60_000
            )
            .await
            .expect("claims"),
            "too late: the deadline passed"
        );

        add_timeline(&db, "po-001", "reminder:1", "Reminder sent", 8_000)
            .await
            .expect("adds");
        add_timeline(&db, "po-001", "reminder:1", "Reminder sent again", 8_500)
            .await
            .expect("adds nothing");
        add_timeline(&db, "po-001", "escalated:1", "Escalated", 7_500)
            .await
            .expect("adds");
        let events: Vec<(i64, String)> = timeline(&db, "po-001")
            .await
            .expect("reads")
            .into_iter()
            .map(|e| (e.at, e.label))
            .collect();
        assert_eq!(
            events,
            [
                (7_500, "Escalated".to_string()),
                (8_000, "Reminder sent".to_string())
            ]
        );

        record_operator_action(&db, "po-001", "root", OperatorAction::Redrive, None, 9_000)
            .await
            .expect("records");
        assert!(terminate(&db, "po-001", "root", "gone wrong", 9_500)
            .await
            .expect("terminates"));
        let row = get(&db, "po-001").await.expect("reads").expect("row");
        assert_eq!(row.status, OrderStatus::Failed);
        assert_eq!(
            row.failure.as_deref(),
            Some("Terminated by root: gone wrong")
        );
        let actions: Vec<(String, OperatorAction, Option<String>, i64)> =
            operator_actions(&db, "po-001")
                .await
                .expect("reads")
                .into_iter()
                .map(|a| (a.actor, a.action, a.reason, a.at))
                .collect();
        assert_eq!(
            actions,
            [
                ("root".into(), OperatorAction::Redrive, None, 9_000),
                (
                    "root".into(),
                    OperatorAction::Terminate,
                    Some("gone wrong".into()),
                    9_500
                )
            ]
        );
        assert!(
            record_outcome(&db, &f, OrderStatus::Approved, Some("bob"), 10_000, 10_000)
                .await
                .is_ok_and(|finished| !finished),
            "a terminated order keeps its end"
        );

        // A start taken back: only while it is submitted.
        delete_submitted(&db, "po-002").await.expect("deletes");
        assert!(get(&db, "po-002").await.expect("reads").is_some());
        insert_submitted(&db, &facts(3, "alice"), 11_000)
            .await
            .expect("inserted");
        delete_submitted(&db, "po-003").await.expect("deletes");
        assert!(get(&db, "po-003").await.expect("reads").is_none());
        assert!(!terminate(&db, "po-003", "root", "gone", 12_000)
            .await
            .expect("nothing to terminate"));
    }

    /// An escalation asks a director at the same level: once, with a timeline entry.
    #[tokio::test]
    async fn an_escalation_moves_the_level_to_a_director_once() {
        let (db, _dir) = fresh_db().await;
        let f = facts(1, "alice");
        let ask = |role: Role, escalated: bool| LevelAsk {
            number: 1,
            of: 1,
            role,
            approved_by: Vec::new(),
            escalated,
        };
        mark_awaiting_level(&db, &f, &ask(Role::Manager, false), 50_000, 1_000)
            .await
            .expect("level 1");
        assert!(claim_decision(
            &db,
            &f.instance_id,
            Some(1),
            Some(Role::Manager),
            Decision::Approve,
            "bob",
            None,
            1_500
        )
        .await
        .expect("claims"));
        for _ in 0..2 {
            mark_awaiting_level(&db, &f, &ask(Role::Director, true), 90_000, 2_000)
                .await
                .expect("escalated");
        }
        let row = get(&db, &f.instance_id).await.expect("reads").expect("row");
        assert_eq!(
            (row.level, row.level_role, row.deadline, row.decision),
            (Some(1), Some(Role::Director), Some(90_000), None)
        );
        let events = timeline(&db, &f.instance_id).await.expect("reads");
        assert_eq!(events.len(), 1);
        assert!(events[0].label.starts_with("Nobody decided in time"));
        // The old claim's level and role no longer fit.
        assert!(!claim_decision(
            &db,
            &f.instance_id,
            Some(1),
            Some(Role::Manager),
            Decision::Approve,
            "bob",
            None,
            2_500
        )
        .await
        .expect("claims"));
        assert!(claim_decision(
            &db,
            &f.instance_id,
            Some(1),
            Some(Role::Director),
            Decision::Approve,
            "dora",
            None,
            2_500
        )
        .await
        .expect("claims"));
    }
}
