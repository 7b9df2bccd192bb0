//! The read model: one row per order/workflow instance in SQL, because Dapr cannot list
//! instances. Written only by the start path, the workflow's activities, the decision
//! claim and the reconciler; every write is idempotent or conditional so that a
//! replayed activity or a race cannot move an order backwards.

use crate::model::order::{
    placed_at, Assignment, Finish, InsertError, LevelWrite, OrderFacts, OrderRow, Via,
};
use crate::model::workflow::LevelAsk;
use crate::store::db::Db;
use domain::{Decision, OrderStatus, Role};

mod history;
mod list;
mod repair;
#[cfg(test)]
mod tests;

pub use history::{level_approvals, operator_actions, record_operator_action, timeline};
pub use list::{count, list};
pub use repair::{needing_attention, set_attention, terminate, unsettled, waiting_summary};

/// The statuses [`OrderStatus::is_final`] calls final, as SQL, for the list filters.
/// The static statements spell the list out (a statement checked at compile time is
/// one string literal); `final_rows_are_never_overwritten` holds them to `is_final`.
const FINAL_STATUSES: &str =
    "('auto_approved', 'approved', 'rejected', 'timed_out', 'cancelled', 'failed')";

on_either_database!(orders {
    /// Records an accepted order before its workflow is scheduled: the unique key is
    /// what turns a repeated order id into a conflict, even when two arrive at once.
    fn insert_submitted(facts: &OrderFacts, now: i64) -> Result<OrderRow, InsertError>;
    /// Undoes [`insert_submitted`] when the workflow could not be scheduled.
    fn delete_submitted(instance_id: &str) -> Result<(), sqlx::Error>;
    /// The workflow asked for approval: the order now waits until `deadline`.
    fn mark_awaiting(facts: &OrderFacts, deadline: i64, now: i64) -> Result<(), sqlx::Error>;
    /// An event in the order's timeline besides its decisions (a reminder, an
    /// escalation), once per `key`.
    fn add_timeline(
        instance_id: &str,
        key: &str,
        label: &str,
        at: i64,
    ) -> Result<(), sqlx::Error>;
    /// Claims the single decision an order may receive at `level` asked of `role`, as
    /// the caller was allowed to decide it (`None`: the seed's single level). False
    /// when someone else (a manager, or the deadline) got there first, or the order
    /// moved on to another level, or escalated, meanwhile.
    #[allow(clippy::too_many_arguments)]
    fn claim_decision(
        instance_id: &str,
        level: Option<i64>,
        role: Option<Role>,
        decision: Decision,
        by: &str,
        comment: Option<&str>,
        via: Via,
        now: i64,
    ) -> Result<bool, sqlx::Error>;
    /// Hands a waiting order's level to someone or back (see [`Assignment`]); false
    /// when it has moved on.
    fn assign(assignment: &Assignment) -> Result<bool, sqlx::Error>;
    /// Gives a claim back when its event provably never reached the workflow.
    fn release_claim(instance_id: &str, by: &str) -> Result<(), sqlx::Error>;
    fn get(instance_id: &str) -> Result<Option<OrderRow>, sqlx::Error>;
});

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
    match db {
        Db::Sqlite(pool) => {
            store_sqlite::orders::mark_awaiting_level(pool, facts, ask, &write, deadline, now).await
        }
        Db::Postgres(pool) => {
            store_postgres::orders::mark_awaiting_level(pool, facts, ask, &write, deadline, now)
                .await
        }
    }
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
        Db::Sqlite(pool) => {
            store_sqlite::orders::record_outcome(
                pool, facts, status, decided_by, decided_at, placed_at, now,
            )
            .await?
        }
        Db::Postgres(pool) => {
            store_postgres::orders::record_outcome(
                pool, facts, status, decided_by, decided_at, placed_at, now,
            )
            .await?
        }
    };
    if finished {
        crate::kernel::metrics::order_finished(status);
    }
    Ok(finished)
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
        Db::Sqlite(pool) => store_sqlite::orders::finish_row(pool, &end).await?,
        Db::Postgres(pool) => store_postgres::orders::finish_row(pool, &end).await?,
    };
    if finished {
        crate::kernel::metrics::order_finished(status);
    }
    Ok(finished)
}
