//! Starting and deciding purchase orders: the rules both the JSON API and the pages
//! follow. The read model gates every request (it knows every order); the workflow is
//! the truth about outcomes.

pub mod bulk;
mod detail;
mod wire;

pub use wire::{Decided, Started, WorkflowFailure, WorkflowState};

use crate::kernel::engine_error::{EngineError, FailureKind};
use crate::model::order::{OrderFacts, OrderRow};
use crate::model::people::User;
use crate::model::workflow::{Approval, Outcome, WorkflowOrder, WorkflowOutput};
use std::sync::Arc;
use std::time::Duration;

use domain::{
    hidden_characters, is_instance_id, Decision, NewOrder, OrderStatus, ValidationErrors,
    MAX_USERNAME_LEN,
};

use crate::kernel::clock::{self, SharedClock};
use crate::kernel::error::ServiceError;
use crate::kernel::timing::{timed, Part};
use crate::notify::{outbox, Channels};
use crate::rules::approval_policy::ApprovalPolicy;
use crate::rules::policy;
use crate::services::delegation;
use crate::store::audit;
use crate::store::db::Db;
use crate::store::group_commit::GroupCommit;
use crate::store::read_model;
use crate::workflow::engine::{Engine, RuntimeStatus, Snapshot};

/// How long a decision waits for the workflow to confirm it before answering "accepted,
/// still processing".
const CONFIRM_WAIT: Duration = Duration::from_secs(5);
/// How long a decision on a just-submitted order waits for the workflow to ask for it.
const AWAIT_REQUEST_WAIT: Duration = Duration::from_secs(5);
/// How long the auto-approval path watches for its (immediate) completion.
const FOLLOW_WAIT: Duration = Duration::from_secs(60);
pub const MAX_COMMENT_LEN: usize = 500;

/// One decision as a caller asks for it.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    pub decision: Decision,
    /// An optional note kept with the decision.
    pub comment: Option<&'a str>,
    /// The seed's `approver_name`: accepted when it names the caller, refused otherwise.
    pub approver_name: Option<&'a str>,
}

impl<'a> DecisionRequest<'a> {
    /// Sizes are checked before anything is written anywhere. Returns the comment as
    /// it will be kept (trimmed; none when empty).
    fn validate(&self) -> Result<Option<&'a str>, ServiceError> {
        let mut errors = ValidationErrors::default();
        let comment = self.comment.map(str::trim).filter(|c| !c.is_empty());
        if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN) {
            errors.push(
                "comment",
                format!("Use at most {MAX_COMMENT_LEN} characters for the comment."),
            );
        } else if let Some(why) = comment.and_then(|c| hidden_characters(c, "comment")) {
            errors.push("comment", why);
        }
        if self
            .approver_name
            .is_some_and(|n| n.trim().chars().count() > MAX_USERNAME_LEN)
        {
            errors.push(
                "approver_name",
                format!("A username has at most {MAX_USERNAME_LEN} characters."),
            );
        }
        if errors.0.is_empty() {
            Ok(comment)
        } else {
            Err(errors.into())
        }
    }
}

#[derive(Clone)]
pub struct OrderService {
    db: Db,
    /// The start path's inserts and the outcomes it follows, committed in batches.
    writes: GroupCommit,
    engine: Engine,
    clock: SharedClock,
    approval_timeout: Duration,
    /// `None`: the seed's rule (no policy file).
    policy: Option<Arc<ApprovalPolicy>>,
    /// The outcomes recorded here (auto-approvals, the reconciler's) notify too.
    notify: Channels,
}

/// The workflow input for an order we hold; `timeout` is the approval timeout it runs
/// with (`None`: not known, as for an order rebuilt from the read model alone), and
/// its levels those of `policy` for its total.
fn workflow_input(
    row: &OrderRow,
    timeout: Option<Duration>,
    policy: Option<&ApprovalPolicy>,
) -> WorkflowOrder {
    WorkflowOrder {
        order_id: row.order_id.clone(),
        cost: row.unit_cost_cents.dollars(),
        product: row.product.clone(),
        quantity: row.quantity,
        approval_timeout_ms: timeout.map(|t| t.as_millis() as u64),
        requested_by: row.requested_by.clone(),
        levels: policy.map(|p| p.levels_for(row.total_cents)),
    }
}

/// A decision taken (its claim holds) that the workflow has not confirmed yet: 202.
fn unconfirmed(instance_id: &str, approver: &str) -> Decided {
    Decided {
        instance_id: instance_id.to_owned(),
        message: format!("Decision by {approver} accepted; the workflow has not confirmed it yet."),
        status: OrderStatus::AwaitingApproval,
        decided_by: approver.to_owned(),
        confirmed: false,
    }
}

fn conflict_for(row: &OrderRow) -> ServiceError {
    let status = row.status;
    let message = match status {
        OrderStatus::AwaitingApproval => match &row.decided_by {
            Some(by) if row.decision == Some(Decision::Cancel) => {
                format!("Order {} has already been cancelled by {by}.", row.order_id)
            }
            Some(by) => format!("Order {} has already been decided by {by}.", row.order_id),
            None => format!(
                "Order {} is past its approval deadline and is being cancelled.",
                row.order_id
            ),
        },
        OrderStatus::Submitted => format!(
            "Order {} is still being set up; try again in a moment.",
            row.order_id
        ),
        _ => format!(
            "Order {} is not awaiting approval: {}.",
            row.order_id,
            status.label(row.decided_by.as_deref())
        ),
    };
    ServiceError::Conflict {
        message,
        status: Some(status),
        decided_by: row.decided_by.clone(),
    }
}

impl OrderService {
    pub fn new(db: Db, engine: Engine, approval_timeout: Duration) -> Self {
        Self {
            writes: GroupCommit::spawn(db.clone()),
            db,
            engine,
            clock: clock::system(),
            approval_timeout,
            policy: None,
            notify: Channels::default(),
        }
    }

    /// The same service adding `notify`'s notifications of the outcomes it records.
    pub fn with_notifications(self, notify: Channels) -> Self {
        Self { notify, ..self }
    }

    /// The same service reading the time from `clock` (tests).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { clock, ..self }
    }

    /// The same service starting orders under `policy`'s approval levels.
    pub fn with_policy(self, policy: ApprovalPolicy) -> Self {
        Self {
            policy: Some(Arc::new(policy)),
            ..self
        }
    }

    /// Whether an order of this total waits for anyone's approval.
    fn needs_approval(&self, total: domain::Cents) -> bool {
        match &self.policy {
            Some(policy) => !policy.levels_for(total).is_empty(),
            None => total >= domain::Cents::APPROVAL_THRESHOLD,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn approval_timeout(&self) -> Duration {
        self.approval_timeout
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Records the order, then schedules its workflow. If scheduling certainly failed
    /// the record is removed again, so a failed start leaves nothing behind; if the
    /// engine's answer was lost, the order stands and the reconciler makes sure its
    /// workflow exists.
    #[tracing::instrument(name = "start", skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn start(&self, order: NewOrder, requester: &User) -> Result<Started, ServiceError> {
        let facts = OrderFacts::from_new(&order, &requester.name);
        let instance_id = facts.instance_id.clone();
        tracing::Span::current().record("instance_id", instance_id.as_str());
        let inserted = timed(Part::Db, self.writes.insert_submitted(facts, self.now_ms())).await;
        let row = match inserted {
            Ok(row) => row,
            Err(read_model::InsertError::Duplicate) => {
                let status = read_model::get(&self.db, &instance_id)
                    .await?
                    .map(|r| r.status);
                return Err(ServiceError::Conflict {
                    message: format!(
                        "Order {} already exists (workflow instance {instance_id}); choose \
                         another order ID.",
                        order.order_id
                    ),
                    status,
                    decided_by: None,
                });
            }
            Err(read_model::InsertError::Db(e)) => return Err(e.into()),
        };
        let scheduled = match timed(Part::Dapr, self.schedule(&row)).await {
            // The reconciler, at start-up, may schedule a just-inserted order first:
            // an instance made from this very row is ours, not a conflict.
            Err(e) if e.kind == FailureKind::AlreadyExists && self.is_ours(&row).await => Ok(()),
            other => other,
        };
        if let Err(e) = scheduled {
            if e.kind == FailureKind::AlreadyExists {
                // An instance with this id survives from an earlier database: keep the
                // row so the reconciler mirrors that instance, and refuse the new order.
                tracing::warn!(%instance_id, "workflow instance already exists in Dapr");
                return Err(ServiceError::Conflict {
                    message: format!(
                        "A workflow for order {} already exists; choose another order ID.",
                        order.order_id
                    ),
                    status: None,
                    decided_by: None,
                });
            }
            if e.certainly_not_applied() {
                read_model::delete_submitted(&self.db, &instance_id).await?;
                return Err(ServiceError::from_engine("scheduling workflow", e));
            }
            // Maybe created, maybe not: the order stands (submitted), and the
            // reconciler creates its workflow if it does not exist.
            tracing::warn!(%instance_id, error = %e, "scheduling unconfirmed; the reconciler will see to it");
            crate::kernel::metrics::order_started(self.needs_approval(order.total()));
            return Ok(Started {
                message: format!(
                    "Purchase order {} was accepted; its workflow is being started. \
                     If approval needed, use /signal-approval endpoint.",
                    order.order_id
                ),
                instance_id,
            });
        }
        let needs_approval = self.needs_approval(order.total());
        crate::kernel::metrics::order_started(needs_approval);
        if !needs_approval {
            // Auto-approval runs no activity, so nothing inside the workflow updates the
            // read model: watch for the (immediate) completion here; the reconciler
            // catches what this misses.
            let service = self.clone();
            let instance_id = instance_id.clone();
            tokio::spawn(async move { service.follow_to_completion(&instance_id).await });
        }
        Ok(Started {
            message: format!(
                "Purchase order workflow started for {}. If approval needed, use \
                 /signal-approval endpoint.",
                order.order_id
            ),
            instance_id,
        })
    }

    /// Creates the workflow of an order we hold (start, or the reconciler for an order
    /// whose workflow was never created).
    pub async fn schedule(&self, row: &OrderRow) -> Result<(), EngineError> {
        self.engine
            .schedule(
                &row.instance_id,
                &workflow_input(row, Some(self.approval_timeout), self.policy.as_deref()),
            )
            .await
    }

    async fn follow_to_completion(&self, instance_id: &str) {
        match self
            .engine
            .wait_for_completion(instance_id, FOLLOW_WAIT)
            .await
        {
            Ok(state) => {
                if let Err(e) = self.apply_state(&state).await {
                    tracing::warn!(%instance_id, error = %e, "recording completion failed");
                }
            }
            Err(e) => tracing::warn!(%instance_id, error = %e, "waiting for completion failed"),
        }
    }

    /// Mirrors a terminal workflow state into the read model. Returns true if the row
    /// changed.
    pub async fn apply_state(&self, state: &Snapshot) -> Result<bool, ServiceError> {
        let now = self.now_ms();
        let at = state.last_updated_at.map_or(now, clock::to_ms);
        let (status, by, failure) = match state.runtime_status {
            RuntimeStatus::Completed => {
                let output = state
                    .serialized_output
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<WorkflowOutput>(s).ok())
                    .and_then(|o| Outcome::parse(&o.status));
                match output {
                    Some(outcome) => (
                        outcome.order_status(),
                        outcome.decided_by().map(str::to_owned),
                        None,
                    ),
                    None => (
                        OrderStatus::Failed,
                        None,
                        Some("workflow completed with an unknown output".to_owned()),
                    ),
                }
            }
            RuntimeStatus::Failed => (
                OrderStatus::Failed,
                None,
                Some(
                    state
                        .failure
                        .as_ref()
                        .map(|f| f.message.clone())
                        .unwrap_or_else(|| "workflow failed".into()),
                ),
            ),
            RuntimeStatus::Terminated | RuntimeStatus::Canceled => (
                OrderStatus::Failed,
                None,
                Some("workflow was terminated".to_owned()),
            ),
            _ => return Ok(false),
        };
        let end = read_model::Finish {
            instance_id: state.instance_id.clone(),
            status,
            decided_by: by,
            decided_at: Some(at),
            failure,
            now,
        };
        let finished = self.writes.finish(end).await?;
        if finished && self.notify.any() {
            outbox::add_outcome(
                &self.db,
                &state.instance_id,
                self.notify.email,
                self.notify.webhook,
                now,
            )
            .await?;
        }
        Ok(finished)
    }

    /// Applies one decision (a manager's approval or rejection, or the requester's
    /// cancellation), and records the attempt (accepted or refused, and why) in the
    /// audit trail.
    ///
    /// The decision runs as a task of its own: a client that goes away mid-way (a
    /// closed tab, a proxy timeout) does not cut it off between its claim, its event,
    /// its audit row and its confirmation.
    pub async fn decide(
        &self,
        instance_id: &str,
        decider: &User,
        request: DecisionRequest<'_>,
    ) -> Result<Decided, ServiceError> {
        let service = self.clone();
        let (instance_id, decider) = (instance_id.to_owned(), decider.clone());
        let decision = request.decision;
        let comment = request.comment.map(str::to_owned);
        let approver_name = request.approver_name.map(str::to_owned);
        tokio::spawn(async move {
            let request = DecisionRequest {
                decision,
                comment: comment.as_deref(),
                approver_name: approver_name.as_deref(),
            };
            service.decide_here(&instance_id, &decider, request).await
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("decision task: {e}")))?
    }

    #[tracing::instrument(name = "decide", skip_all, fields(%instance_id, by = %decider.name))]
    async fn decide_here(
        &self,
        instance_id: &str,
        decider: &User,
        request: DecisionRequest<'_>,
    ) -> Result<Decided, ServiceError> {
        let began = tokio::time::Instant::now();
        let result = self.try_decide(instance_id, decider, &request).await;
        crate::kernel::metrics::decision(&result.as_ref().map(|_| ()), began.elapsed());
        // An id that cannot name an order is no attempt on one: nothing to keep (and
        // nothing of unbounded size reaches the table).
        if is_instance_id(instance_id) {
            let refusal = result.as_ref().err().map(|e| {
                if e.is_internal() {
                    "internal error".to_owned()
                } else {
                    e.to_string()
                }
            });
            self.audit(
                instance_id,
                &decider.name,
                request.decision,
                refusal.as_deref(),
            )
            .await;
        }
        result
    }

    /// Records a decision attempt. A failure to write it is logged, never the caller's
    /// problem: the decision itself stands or falls on its own.
    async fn audit(
        &self,
        instance_id: &str,
        actor: &str,
        decision: Decision,
        refusal: Option<&str>,
    ) {
        if let Err(e) = audit::record(&self.db, instance_id, actor, decision, refusal).await {
            tracing::error!(%instance_id, error = %e, "writing the decision audit");
        }
    }

    /// Check the request, claim the decision in the read model (exactly one claim can
    /// win), raise the event, then wait briefly for the workflow to confirm.
    async fn try_decide(
        &self,
        instance_id: &str,
        decider: &User,
        request: &DecisionRequest<'_>,
    ) -> Result<Decided, ServiceError> {
        let decision = request.decision;
        let comment = request.validate()?;
        let mut row = self.order_for(decider, instance_id).await?;
        self.acting(decider, &row, request).await?;
        let waiting_since = tokio::time::Instant::now();
        while row.status == OrderStatus::Submitted && waiting_since.elapsed() < AWAIT_REQUEST_WAIT {
            tokio::time::sleep(Duration::from_millis(50)).await;
            row = self.get_row(instance_id).await?;
        }
        if row.status != OrderStatus::AwaitingApproval || row.decision.is_some() {
            return Err(conflict_for(&row));
        }
        // The level it waits at now is the one claimed: asked again for it.
        let approver = self.acting(decider, &row, request).await?;
        let claimed = read_model::claim_decision(
            &self.db,
            instance_id,
            row.level,
            row.level_role,
            decision,
            &approver,
            comment,
            self.now_ms(),
        )
        .await?;
        if !claimed {
            return Err(conflict_for(&self.get_row(instance_id).await?));
        }

        let event = Approval::new(&approver, decision, row.level_number(), row.level_role);
        if let Err(e) = self.engine.raise_approval(instance_id, &event).await {
            if !e.certainly_not_applied() {
                // The event may have arrived: the claim stands (nobody else can decide
                // in between), and the reconciler confirms it or raises it again — the
                // workflow takes the first event only, so that is harmless.
                tracing::warn!(%instance_id, error = %e, "decision sent, not confirmed");
                return Ok(unconfirmed(instance_id, &approver));
            }
            // The event certainly never reached the workflow: give the claim back so
            // the order can still be decided.
            read_model::release_claim(&self.db, instance_id, &approver).await?;
            return Err(match e.kind {
                FailureKind::NotFound => ServiceError::Internal(format!(
                    "the read model has order {instance_id}, the workflow engine does not"
                )),
                _ => ServiceError::from_engine("raising approval event", e),
            });
        }
        match (decision, row.level) {
            (Decision::Approve, Some(level)) if !row.at_last_level() => {
                self.confirm_level(instance_id, &approver, level).await
            }
            _ => self.confirm(instance_id, &approver, decision).await,
        }
    }

    /// Who `decider` takes `request` on `row` as: themselves, or for someone whose
    /// decisions they hold now ("carol for dora"), asked only when their own role or
    /// history does not let them decide. Why not, if neither.
    async fn acting(
        &self,
        decider: &User,
        row: &OrderRow,
        request: &DecisionRequest<'_>,
    ) -> Result<String, ServiceError> {
        if request.decision == Decision::Cancel {
            policy::may_cancel(decider, row)?;
            return Ok(decider.name.clone());
        }
        let delegators = match policy::may_decide(decider, row, request.approver_name) {
            Ok(()) => Vec::new(),
            Err(_) => delegation::delegators(&self.db, &decider.name, self.now_ms()).await?,
        };
        policy::deciding_as(decider, row, request.approver_name, &delegators)
            .map(|actor| actor.to_string())
    }

    /// An approval of a level before the last: confirmed once the workflow asks the
    /// next level (or ends otherwise: its deadline can still win by a hair).
    async fn confirm_level(
        &self,
        instance_id: &str,
        approver: &str,
        level: i64,
    ) -> Result<Decided, ServiceError> {
        let give_up = tokio::time::Instant::now() + CONFIRM_WAIT;
        loop {
            let row = self.get_row(instance_id).await?;
            if row.status.is_final() {
                return Err(conflict_for(&row));
            }
            if row.level.is_some_and(|now| now > level) {
                // The next level's role is written with its number; should it be
                // missing, say less rather than name a role nobody asked.
                let next = row.level_role.map_or_else(
                    || "the next level".to_owned(),
                    |r| format!("a {}", r.as_str()),
                );
                return Ok(Decided {
                    instance_id: instance_id.to_owned(),
                    message: format!(
                        "Order {}: level {level} approved by {approver}; it now waits for {next} \
                         (level {} of {}).",
                        row.order_id,
                        row.level.unwrap_or_default(),
                        row.levels.unwrap_or_default(),
                    ),
                    status: OrderStatus::AwaitingApproval,
                    decided_by: approver.to_owned(),
                    confirmed: true,
                });
            }
            if tokio::time::Instant::now() >= give_up {
                return Ok(unconfirmed(instance_id, approver));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Whether the existing workflow instance of `row` was made from `row` itself.
    async fn is_ours(&self, row: &OrderRow) -> bool {
        let Ok(existing) = self.engine.fetch(&row.instance_id).await else {
            return false;
        };
        let expected = workflow_input(row, Some(self.approval_timeout), None);
        existing
            .serialized_input
            .as_deref()
            .and_then(|input| serde_json::from_str::<WorkflowOrder>(input).ok())
            .is_some_and(|input| {
                input.order_id == expected.order_id
                    && input.requested_by == expected.requested_by
                    && input.product == expected.product
                    && input.quantity == expected.quantity
                    && input.unit_cost() == expected.unit_cost()
            })
    }

    /// The workflow's outcome is the truth: the timer can still win by a hair.
    async fn confirm(
        &self,
        instance_id: &str,
        approver: &str,
        decision: Decision,
    ) -> Result<Decided, ServiceError> {
        let waited = self
            .engine
            .wait_for_completion(instance_id, CONFIRM_WAIT)
            .await;
        let state = match waited {
            Ok(state) => state,
            Err(e) if e.is_retryable() => return Ok(unconfirmed(instance_id, approver)),
            Err(e) => return Err(ServiceError::from_engine("confirming decision", e)),
        };
        self.apply_state(&state).await?;
        let row = self.get_row(instance_id).await?;
        let expected = decision.outcome();
        if row.status == expected && row.last_decider() == Some(approver) {
            Ok(Decided {
                instance_id: instance_id.to_owned(),
                message: format!("Order {}: {}.", row.order_id, row.view().status_label()),
                status: expected,
                decided_by: approver.to_owned(),
                confirmed: true,
            })
        } else {
            Err(conflict_for(&row))
        }
    }

    async fn get_row(&self, instance_id: &str) -> Result<OrderRow, ServiceError> {
        read_model::get(&self.db, instance_id)
            .await?
            .ok_or_else(|| policy::not_found(instance_id))
    }

    /// The order, if `user` may see it; otherwise "no such order", the same as for an
    /// id that names none (or cannot name one: that never reaches the database).
    pub async fn order_for(
        &self,
        user: &User,
        instance_id: &str,
    ) -> Result<OrderRow, ServiceError> {
        if !is_instance_id(instance_id) {
            return Err(policy::not_found(instance_id));
        }
        let row = read_model::get(&self.db, instance_id).await?;
        policy::visible(user, row, instance_id)
    }

    /// The workflow's state, for those who may see the order: from the read model once
    /// it holds the outcome (no round trip to Dapr, and still there once Dapr's
    /// retention purged the workflow), from the engine before.
    pub async fn workflow_state(
        &self,
        user: &User,
        instance_id: &str,
    ) -> Result<WorkflowState, ServiceError> {
        let row = self.order_for(user, instance_id).await?;
        if let Some(state) = WorkflowState::from_final_row(&row) {
            return Ok(state);
        }
        match self.engine.fetch(instance_id).await {
            Ok(state) => Ok(state.into()),
            Err(e) if e.kind == FailureKind::NotFound => WorkflowState::from_failed_row(&row)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("No workflow instance {instance_id}."))
                }),
            Err(e) => Err(ServiceError::from_engine("fetching workflow state", e)),
        }
    }
}
