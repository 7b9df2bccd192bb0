//! Starting an order: its row, then its workflow; and bringing a row up to what its
//! workflow says (the start's follower, the reconciler).

use std::time::Duration;

use domain::{NewOrder, OrderStatus};

use super::{workflow_input, OrderService, Started, Upload};
use crate::kernel::clock;
use crate::kernel::engine_error::{EngineError, FailureKind};
use crate::kernel::error::ServiceError;
use crate::kernel::timing::{timed, Part};
use crate::model::order::{Finish, InsertError, LevelAt, OrderFacts, OrderRow};
use crate::model::people::User;
use crate::model::workflow::{Outcome, ResumeAt, WorkflowOrder, WorkflowOutput, SINGLE_LEVEL};
use crate::notify::outbox;
use crate::store::read_model;
use crate::workflow::engine::{RuntimeStatus, Snapshot};

/// How long the auto-approval path watches for its (immediate) completion.
const FOLLOW_WAIT: Duration = Duration::from_secs(60);

impl OrderService {
    /// Records the order, then schedules its workflow. If scheduling certainly failed
    /// the record is removed again, so a failed start leaves nothing behind; if the
    /// engine's answer was lost, the order stands and the reconciler makes sure its
    /// workflow exists.
    pub async fn start(&self, order: NewOrder, requester: &User) -> Result<Started, ServiceError> {
        self.start_with_files(order, requester, Vec::new()).await
    }

    /// [`start`](Self::start) with files attached before its workflow begins, so that
    /// the first e-mail asking for a decision names them. A file refused or not stored
    /// stops the start: nothing of the order is left (its row, its files' rows and
    /// bytes go again).
    #[tracing::instrument(name = "start", skip_all, fields(instance_id = tracing::field::Empty))]
    pub async fn start_with_files(
        &self,
        order: NewOrder,
        requester: &User,
        files: Vec<Upload>,
    ) -> Result<Started, ServiceError> {
        let facts = OrderFacts::from_new(&order, &requester.name);
        let instance_id = facts.instance_id.clone();
        tracing::Span::current().record("instance_id", instance_id.as_str());
        let inserted = timed(Part::Db, self.writes.insert_submitted(facts, self.now_ms())).await;
        let row = match inserted {
            Ok(row) => row,
            Err(InsertError::Duplicate) => {
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
            Err(InsertError::Db(e)) => return Err(e.into()),
        };
        let mut stored = Vec::new();
        for upload in files {
            match self.store_file(&row, requester, upload).await {
                Ok((_, key)) => stored.push(key),
                Err(e) => {
                    // The order's row takes its files' rows with it (ON DELETE CASCADE).
                    read_model::delete_submitted(&self.db, &instance_id).await?;
                    self.forget_files(&stored).await;
                    return Err(e);
                }
            }
        }
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
                self.forget_files(&stored).await;
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
            .schedule(&row.instance_id, &self.input_for(row))
            .await
    }

    /// The workflow input of an order we hold, under this service's timeout and policy.
    fn input_for(&self, row: &OrderRow) -> WorkflowOrder {
        workflow_input(row, Some(self.approval_timeout), self.policy.as_deref())
    }

    /// Creates the workflow of an order we hold that has none in Dapr (the reconciler):
    /// a fresh one for an order never asked, or, for one that waited (its row has a
    /// deadline: reopened by `server restore --workflows-lost`), one that takes it up at
    /// its level, asked of the same role, until the same deadline. The levels after it
    /// are the approval policy's in force now.
    pub async fn recreate(&self, row: &OrderRow) -> Result<Recreated, ServiceError> {
        let mut input = self.input_for(row);
        if let Some(deadline) = row.deadline {
            match self.resume_at(row, &input, deadline).await? {
                Ok(resume) => input.resume = Some(resume),
                Err(why) => return Ok(Recreated::CannotTakeUp(why)),
            }
        }
        match self.engine.schedule(&row.instance_id, &input).await {
            Ok(()) => Ok(Recreated::Created),
            Err(e) if e.kind == FailureKind::AlreadyExists => Ok(Recreated::Exists),
            Err(e) => Err(ServiceError::from_engine("rescheduling order", e)),
        }
    }

    /// Where a workflow created again takes `row` up, or why it cannot.
    async fn resume_at(
        &self,
        row: &OrderRow,
        input: &WorkflowOrder,
        deadline_ms: i64,
    ) -> Result<Result<ResumeAt, String>, ServiceError> {
        let (number, role) = match row.level_at() {
            Ok(LevelAt::Of { number, role, .. }) => (number, role),
            Ok(LevelAt::Single) => SINGLE_LEVEL,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let levels = input.levels();
        let Some(level) = number
            .checked_sub(1)
            .and_then(|i| levels.get(usize::try_from(i).ok()?))
        else {
            return Ok(Err(format!(
                "its workflow is gone and cannot be made again: it waited at level {number}, \
                 and the approval policy in force has {} for its total",
                levels.len()
            )));
        };
        let approved_by = read_model::level_approvals(&self.db, &row.instance_id)
            .await?
            .into_iter()
            .map(|a| a.approved_by)
            .collect();
        Ok(Ok(ResumeAt {
            level: number,
            role,
            escalated: role != level.role,
            approved_by,
            deadline_ms,
        }))
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
        let end = Finish {
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
}

/// What [`OrderService::recreate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recreated {
    Created,
    /// Its workflow exists after all.
    Exists,
    /// It waited where no workflow of this build can take it up (why): an operator's.
    CannotTakeUp(String),
}
