//! Keeps the read model honest after crashes: at start-up every unfinished order is
//! compared with its workflow, and periodically the ones that look stuck are.

use std::time::Duration;

use domain::{Cents, OrderStatus};
use futures::StreamExt;

use crate::kernel::engine_error::FailureKind;
use crate::kernel::error::ServiceError;
use crate::model::order::{OrderFacts, OrderRow};
use crate::model::workflow::{Approval, WaitingAt, WorkflowOrder};
use crate::ops::{housekeeping, lease};
use crate::services::orders::{OrderService, Recreated};
use crate::store::read_model;
use crate::workflow::engine::Snapshot;

/// A row untouched this long (submitted, claimed, or past its deadline) is suspicious.
const STUCK_AFTER_MS: i64 = 10_000;
const PAGE: i64 = 200;
/// How many of its last recorded steps the log shows beside an order needing attention.
const RECENT_STEPS: usize = 5;
/// Rows compared at once: one hung call never holds up the others.
const AT_ONCE: usize = 8;
/// The longest one row's repair may take (its engine calls have deadlines of their
/// own; this bounds the whole).
const PER_ROW: Duration = Duration::from_secs(30);

/// Runs a pass every `interval` while this replica (`replica`, unique among those
/// sharing the database) holds the reconciler lease: with several replicas, one of
/// them reconciles at a time, and another takes over within a lease time (three
/// intervals) of its death. The lease holder also does the housekeeping, keeping
/// finished orders' notifications for `keep_notifications`.
pub async fn run(
    orders: OrderService,
    interval: Duration,
    replica: String,
    keep_notifications: Duration,
) {
    let ttl = interval.saturating_mul(3);
    let mut everything = true;
    let mut tidied: Option<tokio::time::Instant> = None;
    loop {
        match lease::hold(
            orders.db(),
            lease::RECONCILER,
            &replica,
            orders.now_ms(),
            ttl,
        )
        .await
        {
            Ok(true) => {
                let work = pass(&orders, everything);
                match while_holding(&orders, &replica, ttl, work).await {
                    Some(Ok(0)) => {}
                    Some(Ok(n)) => tracing::debug!(checked = n, "reconciler pass"),
                    Some(Err(e)) => tracing::warn!(error = %e, "reconciler pass stopped early"),
                    None => {
                        tracing::warn!("reconciler lease lost mid-pass; another replica goes on")
                    }
                }
                everything = false;
                if tidied.is_none_or(|at| at.elapsed() >= housekeeping::EVERY) {
                    tidied = Some(tokio::time::Instant::now());
                    match housekeeping::tidy(orders.db(), orders.now_ms(), keep_notifications).await
                    {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(notifications = n, "housekeeping forgot"),
                        Err(e) => tracing::warn!(error = %e, "housekeeping: database"),
                    }
                }
            }
            Ok(false) => tracing::debug!("another replica holds the reconciler lease"),
            Err(e) => tracing::warn!(error = %e, "reconciler lease: database"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Runs `work`, renewing the lease a third of its time apart; gives up on `work`
/// (None) as soon as the lease cannot be renewed, so that two replicas never repair
/// at once. A pass cut short is safe: every repair is one a crash could interrupt.
async fn while_holding<T>(
    orders: &OrderService,
    replica: &str,
    ttl: Duration,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    let renew = async {
        loop {
            tokio::time::sleep(ttl / 3).await;
            match lease::hold(
                orders.db(),
                lease::RECONCILER,
                replica,
                orders.now_ms(),
                ttl,
            )
            .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "renewing the reconciler lease");
                    return;
                }
            }
        }
    };
    tokio::select! {
        done = work => Some(done),
        () = renew => None,
    }
}

/// One pass over the unfinished rows; returns how many were checked.
pub async fn pass(orders: &OrderService, everything: bool) -> Result<usize, ServiceError> {
    let stuck_before = orders.now_ms() - STUCK_AFTER_MS;
    let mut after = String::new();
    let mut checked = 0;
    loop {
        let rows =
            read_model::unsettled(orders.db(), everything, stuck_before, &after, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(checked);
        };
        after = last.instance_id.clone();
        let unavailable = std::sync::atomic::AtomicBool::new(false);
        futures::stream::iter(&rows)
            .for_each_concurrent(AT_ONCE, |row| {
                let unavailable = &unavailable;
                async move {
                    let repaired =
                        tokio::time::timeout(PER_ROW, reconcile(orders, row, stuck_before)).await;
                    match repaired {
                        Ok(Ok(repairs)) => repairs
                            .iter()
                            .for_each(|repair| crate::kernel::metrics::repaired(repair.kind())),
                        Ok(Err(ServiceError::Unavailable { .. })) => {
                            unavailable.store(true, std::sync::atomic::Ordering::Relaxed)
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(instance_id = %row.instance_id, error = %e, "reconcile")
                        }
                        Err(_) => tracing::warn!(
                            instance_id = %row.instance_id,
                            "reconcile: no result within {PER_ROW:?}"
                        ),
                    }
                }
            })
            .await;
        checked += rows.len();
        if unavailable.into_inner() {
            // The sidecar is away: the next pass will try again.
            return Err(ServiceError::from_engine(
                "reconciling",
                crate::kernel::engine_error::EngineError::new(
                    FailureKind::Unreachable,
                    "the workflow engine is not reachable",
                ),
            ));
        }
    }
}

/// What reconciling one order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The workflow's outcome written to the read model.
    RecordedOutcome,
    /// A waiting workflow's approval request written to the read model.
    RecordedApprovalRequest,
    /// A claimed decision raised again (the workflow takes only the first event).
    ReRaisedDecision,
    /// An order whose workflow was never created: scheduled now.
    Scheduled,
    /// Dapr has no workflow for an order that should have one: closed as failed.
    WorkflowLost,
    /// Marked as needing an operator, for this reason.
    NeedsAttention(String),
    /// No longer needs an operator.
    AttentionCleared,
}

impl Repair {
    /// The repair's kind, as the metrics count it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RecordedOutcome => "recorded_outcome",
            Self::RecordedApprovalRequest => "recorded_approval_request",
            Self::ReRaisedDecision => "re_raised_decision",
            Self::Scheduled => "scheduled",
            Self::WorkflowLost => "workflow_lost",
            Self::NeedsAttention(_) => "needs_attention",
            Self::AttentionCleared => "attention_cleared",
        }
    }
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RecordedOutcome => f.write_str("recorded the workflow's outcome"),
            Self::RecordedApprovalRequest => f.write_str("recorded the approval request"),
            Self::ReRaisedDecision => f.write_str("raised the claimed decision again"),
            Self::Scheduled => f.write_str("scheduled the order's workflow"),
            Self::WorkflowLost => f.write_str("closed as failed: Dapr has no workflow for it"),
            Self::NeedsAttention(why) => write!(f, "needs attention: {why}"),
            Self::AttentionCleared => f.write_str("no longer needs attention"),
        }
    }
}

/// A row this long past its deadline with no outcome needs an operator.
const OVERDUE_AFTER_MS: i64 = 5 * 60_000;
/// A workflow state that would not load is read once more after this pause before the
/// order is reported (daprd 1.18.2 failed such reads now and then while a save raced).
const STATE_RETRY: Duration = Duration::from_secs(1);

/// Brings one unfinished row in line with its workflow: finishes rows whose workflow
/// ended, records an approval request the read model missed, re-raises a claimed
/// decision the workflow never saw (it takes only the first event, so this is safe),
/// schedules a submitted order whose workflow was never created (a crash between the
/// insert and the schedule), and marks orders an operator must look at (a workflow
/// state Dapr cannot load, a deadline long past with no outcome) or no longer must.
#[tracing::instrument(name = "reconcile", skip_all, fields(instance_id = %row.instance_id))]
pub async fn reconcile(
    orders: &OrderService,
    row: &OrderRow,
    stuck_before: i64,
) -> Result<Vec<Repair>, ServiceError> {
    let engine = orders.engine();
    let db = orders.db();
    let mut repairs = Vec::new();
    let fetched = match engine.fetch(&row.instance_id).await {
        Err(e) if e.kind == FailureKind::Other => {
            tokio::time::sleep(STATE_RETRY).await;
            engine.fetch(&row.instance_id).await
        }
        fetched => fetched,
    };
    match fetched {
        Ok(state) if state.runtime_status.is_terminal() => {
            if orders.apply_state(&state).await? {
                tracing::info!(instance_id = %row.instance_id, "reconciled finished workflow");
                repairs.push(Repair::RecordedOutcome);
            }
        }
        Ok(state) => {
            if let Some(waiting) = waiting_at(&state) {
                // An order with levels: its workflow says which level it asked last.
                let number = i64::from(waiting.level.number);
                // Submitted: reopened by a restore whose workflows were kept after all.
                let behind = row.status == OrderStatus::Submitted
                    || row.level.is_none_or(|level| level < number)
                    || (waiting.level.escalated
                        && row.level == Some(number)
                        && row.level_role != Some(waiting.level.role));
                if behind && row.updated_at < stuck_before {
                    tracing::info!(instance_id = %row.instance_id, level = waiting.level.number,
                        "recording a lost approval request");
                    read_model::mark_awaiting_level(
                        db,
                        &OrderFacts::from_row(row),
                        &waiting.level,
                        waiting.deadline_ms,
                        orders.now_ms(),
                    )
                    .await?;
                    repairs.push(Repair::RecordedApprovalRequest);
                }
            } else if row.status == OrderStatus::Submitted
                && row.total_cents >= Cents::APPROVAL_THRESHOLD
                && row.updated_at < stuck_before
            {
                // Its workflow waits for a decision, but the approval request never
                // reached the read model (an outage longer than the activity's retries):
                // show it as waiting, until the deadline the workflow keeps.
                // A row that had its deadline (reopened by a restore) keeps it exactly.
                if let Some(deadline) = row.deadline.or_else(|| approval_deadline(&state)) {
                    tracing::info!(instance_id = %row.instance_id, "recording a lost approval request");
                    read_model::mark_awaiting(
                        db,
                        &OrderFacts::from_row(row),
                        deadline,
                        orders.now_ms(),
                    )
                    .await?;
                    repairs.push(Repair::RecordedApprovalRequest);
                }
            }
            let stuck_claim = row.claimed_at.is_some_and(|t| t < stuck_before);
            if let (true, Some(decision), Some(by)) =
                (stuck_claim, row.decision, row.decided_by.as_deref())
            {
                tracing::info!(instance_id = %row.instance_id, "re-raising unconfirmed decision");
                let event = Approval::new(by, decision, row.level_number(), row.level_role);
                engine
                    .raise_approval(&row.instance_id, &event)
                    .await
                    .map_err(|e| ServiceError::from_engine("re-raising decision", e))?;
                repairs.push(Repair::ReRaisedDecision);
            }
            let now = orders.now_ms();
            let overdue = row.deadline.filter(|d| *d < now - OVERDUE_AFTER_MS);
            // Worded the same on every pass, so that it is written once.
            let reason = overdue.map(|d| {
                format!(
                    "its deadline passed at {}, and its workflow ({}) has no outcome",
                    crate::kernel::clock::from_ms(d).format("%Y-%m-%d %H:%M:%S UTC"),
                    state.runtime_status.name()
                )
            });
            repairs.extend(attention(orders, row, reason).await?);
        }
        Err(e) if e.kind == FailureKind::NotFound => {
            if row.status == OrderStatus::Submitted {
                tracing::info!(instance_id = %row.instance_id, "scheduling orphaned order");
                match orders.recreate(row).await? {
                    Recreated::Created => repairs.push(Repair::Scheduled),
                    Recreated::Exists => {}
                    Recreated::CannotTakeUp(why) => {
                        repairs.extend(attention(orders, row, Some(why)).await?);
                    }
                }
            } else {
                read_model::finish(
                    db,
                    &row.instance_id,
                    OrderStatus::Failed,
                    None,
                    Some(orders.now_ms()),
                    Some("workflow instance no longer exists in Dapr"),
                    orders.now_ms(),
                )
                .await?;
                repairs.push(Repair::WorkflowLost);
            }
        }
        // A state daprd cannot load, twice (dapr/dapr#10155 leaves a workflow so, for
        // good): an operator sees it the same minute, instead of an order that
        // silently never finishes.
        Err(e) if e.kind == FailureKind::Other => {
            tracing::warn!(instance_id = %row.instance_id, error = %e, "workflow state cannot be loaded");
            let reason = format!("Dapr cannot load its workflow state: {}", e.message);
            repairs.extend(attention(orders, row, Some(reason)).await?);
        }
        Err(e) => return Err(ServiceError::from_engine("reconciling", e)),
    }
    Ok(repairs)
}

async fn attention(
    orders: &OrderService,
    row: &OrderRow,
    reason: Option<String>,
) -> Result<Option<Repair>, ServiceError> {
    if !read_model::set_attention(
        orders.db(),
        &row.instance_id,
        reason.as_deref(),
        orders.now_ms(),
    )
    .await?
    {
        return Ok(None);
    }
    Ok(Some(match reason {
        Some(why) => {
            // The last steps daprd recorded, in the same line an operator reads first.
            let recent = match orders.engine().history(&row.instance_id).await {
                Ok(events) => events
                    .iter()
                    .rev()
                    .take(RECENT_STEPS)
                    .rev()
                    .map(crate::workflow::history::describe)
                    .collect::<Vec<_>>()
                    .join(" | "),
                Err(e) => format!("no history: {e}"),
            };
            tracing::warn!(instance_id = %row.instance_id, reason = %why, %recent,
                "order needs attention (`server order history {}` shows all it did)", row.instance_id);
            Repair::NeedsAttention(why)
        }
        None => Repair::AttentionCleared,
    }))
}

/// The deadline a waiting workflow keeps: its start plus the approval timeout in its
/// input (the workflow computes it the same way, from its own clock at the start).
/// Where a workflow with levels waits, from its custom status.
fn waiting_at(state: &Snapshot) -> Option<WaitingAt> {
    serde_json::from_str(state.serialized_custom_status.as_deref()?).ok()
}

fn approval_deadline(state: &Snapshot) -> Option<i64> {
    let order: WorkflowOrder = serde_json::from_str(state.serialized_input.as_deref()?).ok()?;
    let timeout = chrono::Duration::from_std(order.approval_timeout()).ok()?;
    Some((state.created_at? + timeout).timestamp_millis())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::store::db::Db;
    use crate::workflow::engine::memory::MemoryEngine;

    const KEEP: Duration = Duration::from_secs(90 * 24 * 60 * 60);

    async fn holder(db: &Db) -> Option<String> {
        let sql = format!(
            "SELECT holder FROM leases WHERE name = '{}'",
            lease::RECONCILER
        );
        let held: Vec<String> = db.scalars_for_test(&sql).await.expect("read the lease");
        held.into_iter().next()
    }

    async fn until_held_by(db: &Db, replica: &str) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while holder(db).await.as_deref() != Some(replica) {
            assert!(Instant::now() < give_up, "{replica} never took the lease");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn one_replica_reconciles_at_a_time_and_another_takes_over_when_it_dies() {
        let (db, _dir) = crate::store::db::temporary().await.expect("db");
        let engine = Arc::new(MemoryEngine::new(db.clone()));
        let orders = OrderService::new(db.clone(), engine, Duration::from_secs(3600));
        let interval = Duration::from_millis(100);

        let a = tokio::spawn(run(orders.clone(), interval, "a".into(), KEEP));
        until_held_by(&db, "a").await;
        let b = tokio::spawn(run(orders.clone(), interval, "b".into(), KEEP));
        // b tries every interval and is refused while a keeps renewing.
        tokio::time::sleep(interval * 8).await;
        assert_eq!(holder(&db).await.as_deref(), Some("a"));

        // a dies without giving the lease up: b has it within a lease time.
        a.abort();
        until_held_by(&db, "b").await;
        b.abort();
    }

    /// Restored into an empty Dapr state, an order that waited at a level the approval
    /// policy in force no longer has cannot be taken up: the reconciler says so to an
    /// operator instead of making up a level, and goes on with the other orders.
    #[tokio::test]
    async fn a_restored_order_no_workflow_can_take_up_is_an_operators() {
        let (db, _dir) = crate::store::db::temporary().await.expect("db");
        let engine = Arc::new(MemoryEngine::new(db.clone()));
        // No policy: the seed's single level.
        let orders = OrderService::new(db.clone(), engine, Duration::from_secs(3600));
        let facts = crate::model::order::OrderFacts {
            instance_id: "po-two".into(),
            order_id: "two".into(),
            product: "Desk".into(),
            quantity: 1,
            unit_cost: Cents(2_000_000),
            requested_by: Some("alice".into()),
        };
        read_model::insert_submitted(&db, &facts, 1_000)
            .await
            .expect("insert");
        let second = crate::model::workflow::LevelAsk {
            number: 2,
            of: 2,
            role: domain::Role::Director,
            approved_by: vec!["bob".into()],
            escalated: false,
        };
        read_model::mark_awaiting_level(&db, &facts, &second, 90_000, 2_000)
            .await
            .expect("waits at level 2");
        crate::store::maintenance::reopen_waiting(&db, 3_000)
            .await
            .expect("reopened by a restore");
        let row = read_model::get(&db, "po-two")
            .await
            .expect("reads")
            .expect("the row");
        let repairs = reconcile(&orders, &row, i64::MAX)
            .await
            .expect("reconciles");
        assert!(
            matches!(&repairs[..], [Repair::NeedsAttention(why)] if why.contains("level 2")),
            "{repairs:?}"
        );
        let row = read_model::get(&db, "po-two")
            .await
            .expect("reads")
            .expect("the row");
        assert_eq!(row.status, OrderStatus::Submitted, "nothing made up");
        assert!(row.attention.is_some());
    }
}
