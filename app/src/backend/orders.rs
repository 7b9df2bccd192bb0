//! Starting, deciding and inspecting purchase orders: the rules both the JSON API and
//! the pages follow. The read model gates every request (it knows every order), the
//! Dapr workflow is the truth about outcomes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dapr::workflow::{
    EventOptions, FetchOptions, RuntimeStatus, ScheduleOptions, WorkflowMetadata,
    WorkflowSchedulingClient,
};
use serde::{Deserialize, Serialize};

use super::accounts::{self, User};
use super::error::{classify, DaprFailure, ServiceError};
use super::read_model::{self, to_ms, Db, OrderFacts, OrderRow};
use super::workflow_types::{
    Approval, Outcome, WorkflowOrder, WorkflowOutput, APPROVAL_EVENT, WORKFLOW_NAME,
};
use crate::domain::{cents_to_dollars, FieldError, NewOrder, OrderStatus, ValidationErrors};

pub fn now_ms() -> i64 {
    to_ms(Utc::now())
}

/// How long a decision waits for the workflow to confirm it before answering "accepted,
/// still processing".
const CONFIRM_WAIT: Duration = Duration::from_secs(5);
/// How long a decision on a just-submitted order waits for the workflow to ask for it.
const AWAIT_REQUEST_WAIT: Duration = Duration::from_secs(5);
/// Transient failures (sidecar restarting, worker reconnecting) are retried this long.
const RETRY_FOR: Duration = Duration::from_secs(8);
const SCHEDULE_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_COMMENT_LEN: usize = 500;

#[derive(Clone)]
pub struct OrderService {
    db: Db,
    workflows: WorkflowSchedulingClient,
    approval_timeout: Duration,
}

/// Answer to a started order (the seed's shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Started {
    pub instance_id: String,
    pub message: String,
}

/// Answer to a decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Decided {
    pub instance_id: String,
    pub message: String,
    /// The order's status once the workflow confirmed the decision; `awaiting_approval`
    /// when it has been accepted but not yet confirmed.
    pub status: OrderStatus,
    pub decided_by: String,
    /// False when the decision was accepted but the workflow has not confirmed it yet.
    pub confirmed: bool,
}

/// A workflow instance's state in the seed's `/status` shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WorkflowState {
    pub instance_id: String,
    pub name: String,
    /// RUNNING, COMPLETED, FAILED, TERMINATED, PENDING, SUSPENDED, …
    pub runtime_status: String,
    pub created_at: Option<DateTime<Utc>>,
    pub last_updated_at: Option<DateTime<Utc>>,
    pub serialized_input: Option<String>,
    pub serialized_output: Option<String>,
    pub serialized_custom_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<WorkflowFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WorkflowFailure {
    pub message: String,
    pub error_type: String,
    pub stack_trace: Option<String>,
}

pub fn runtime_status_name(status: RuntimeStatus) -> &'static str {
    match status {
        RuntimeStatus::Running => "RUNNING",
        RuntimeStatus::Completed => "COMPLETED",
        RuntimeStatus::ContinuedAsNew => "CONTINUED_AS_NEW",
        RuntimeStatus::Failed => "FAILED",
        RuntimeStatus::Canceled => "CANCELED",
        RuntimeStatus::Terminated => "TERMINATED",
        RuntimeStatus::Pending => "PENDING",
        RuntimeStatus::Suspended => "SUSPENDED",
        RuntimeStatus::Stalled => "STALLED",
    }
}

impl From<WorkflowMetadata> for WorkflowState {
    fn from(m: WorkflowMetadata) -> Self {
        let failed = m.runtime_status == RuntimeStatus::Failed;
        Self {
            instance_id: m.instance_id,
            name: m.name,
            runtime_status: runtime_status_name(m.runtime_status).to_owned(),
            created_at: m.created_at,
            last_updated_at: m.last_updated_at,
            serialized_input: m.serialized_input,
            serialized_output: m.serialized_output,
            serialized_custom_status: m.serialized_custom_status,
            failure_details: m
                .failure_details
                .filter(|_| failed)
                .map(|f| WorkflowFailure {
                    message: f.message,
                    error_type: f.error_type,
                    stack_trace: f.stack_trace,
                }),
        }
    }
}

fn workflow_input(row: &OrderRow, timeout: Duration) -> WorkflowOrder {
    WorkflowOrder {
        order_id: row.order_id.clone(),
        cost: cents_to_dollars(row.unit_cost_cents),
        product: row.product.clone(),
        quantity: row.quantity,
        approval_timeout_ms: Some(timeout.as_millis() as u64),
        requested_by: row.requested_by.clone(),
    }
}

fn conflict_for(row: &OrderRow) -> ServiceError {
    let status = row.status();
    let message = match status {
        OrderStatus::AwaitingApproval => match &row.decided_by {
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
    pub fn new(db: Db, workflows: WorkflowSchedulingClient, approval_timeout: Duration) -> Self {
        Self {
            db,
            workflows,
            approval_timeout,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn approval_timeout(&self) -> Duration {
        self.approval_timeout
    }

    fn client(&self) -> WorkflowSchedulingClient {
        self.workflows.clone()
    }

    /// Records the order, then schedules its workflow. If scheduling fails the record is
    /// removed again, so a failed start leaves nothing behind.
    pub async fn start(&self, order: NewOrder, requester: &User) -> Result<Started, ServiceError> {
        let facts = OrderFacts::from_new(&order, &requester.name);
        let instance_id = facts.instance_id.clone();
        let row = match read_model::insert_submitted(&self.db, &facts, now_ms()).await {
            Ok(row) => row,
            Err(read_model::InsertError::Duplicate) => {
                let status = read_model::get(&self.db, &instance_id)
                    .await?
                    .map(|r| r.status());
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
        if let Err(e) = self.schedule(&row).await {
            if classify(&e) == DaprFailure::AlreadyExists {
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
            read_model::delete_submitted(&self.db, &instance_id).await?;
            return Err(ServiceError::from_dapr("scheduling workflow", &e));
        }
        if !order.needs_approval() {
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

    async fn schedule(&self, row: &OrderRow) -> dapr::workflow::Result<String> {
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            let options = ScheduleOptions::new()
                .with_instance_id(row.instance_id.clone())
                .try_with_input(workflow_input(row, self.approval_timeout))?;
            // With no worker connected daprd holds a schedule call open indefinitely and
            // creates nothing; bound it so the caller gets a clear 503.
            let left = SCHEDULE_TIMEOUT.saturating_sub(started.elapsed());
            let attempt = tokio::time::timeout(
                left,
                self.client().schedule_workflow(WORKFLOW_NAME, options),
            )
            .await
            .unwrap_or(Err(dapr::workflow::WorkflowError::Timeout));
            match attempt {
                // A busy state store created nothing: the same call can simply be repeated.
                Err(e)
                    if classify(&e) == DaprFailure::Busy
                        && started.elapsed() + delay < SCHEDULE_TIMEOUT =>
                {
                    tracing::debug!(instance_id = %row.instance_id, error = %e, "schedule: state store busy, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    async fn follow_to_completion(&self, instance_id: &str) {
        let waited = self
            .client()
            .wait_for_workflow_completion_with_options(
                instance_id,
                FetchOptions::new().with_fetch_payloads(true),
                Some(Duration::from_secs(60)),
            )
            .await;
        match waited {
            Ok(state) => {
                if let Err(e) = self.apply_state(instance_id, &state).await {
                    tracing::warn!(%instance_id, error = %e, "recording completion failed");
                }
            }
            Err(e) => tracing::warn!(%instance_id, error = %e, "waiting for completion failed"),
        }
    }

    /// Mirrors a terminal workflow state into the read model. Returns true if the row
    /// changed.
    pub async fn apply_state(
        &self,
        instance_id: &str,
        state: &WorkflowMetadata,
    ) -> Result<bool, ServiceError> {
        let at = state.last_updated_at.map(to_ms).unwrap_or_else(now_ms);
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
                        .failure_details
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
        Ok(read_model::finish(
            &self.db,
            instance_id,
            status,
            by.as_deref(),
            Some(at),
            failure.as_deref(),
            now_ms(),
        )
        .await?)
    }

    /// Applies one manager's decision, and records the attempt (accepted or refused, and
    /// why) in the audit trail.
    pub async fn decide(
        &self,
        instance_id: &str,
        decider: &User,
        approved: bool,
        comment: Option<&str>,
    ) -> Result<Decided, ServiceError> {
        let result = self
            .try_decide(instance_id, decider, approved, comment)
            .await;
        let refusal = result.as_ref().err().map(|e| match e {
            ServiceError::Internal(_) => "internal error".to_owned(),
            e => e.to_string(),
        });
        if let Err(e) = accounts::audit(
            &self.db,
            instance_id,
            &decider.name,
            approved,
            refusal.as_deref(),
        )
        .await
        {
            tracing::error!(%instance_id, error = %e, "writing the decision audit");
        }
        result
    }

    /// Claim the decision in the read model (exactly one claim can win), raise the
    /// event, then wait briefly for the workflow to confirm.
    async fn try_decide(
        &self,
        instance_id: &str,
        decider: &User,
        approved: bool,
        comment: Option<&str>,
    ) -> Result<Decided, ServiceError> {
        if !decider.is_manager() {
            return Err(ServiceError::Forbidden(
                "Only managers can approve or reject orders.".into(),
            ));
        }
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN) {
            return Err(ValidationErrors(vec![FieldError {
                field: "comment".into(),
                message: format!("Use at most {MAX_COMMENT_LEN} characters for the comment."),
            }])
            .into());
        }
        let approver = decider.name.clone();
        let mut row = self.get_row(instance_id).await?;
        if row.requested_by.as_deref() == Some(approver.as_str()) {
            return Err(ServiceError::Forbidden(
                "You cannot approve or reject your own order.".into(),
            ));
        }
        let waiting_since = tokio::time::Instant::now();
        while row.status() == OrderStatus::Submitted && waiting_since.elapsed() < AWAIT_REQUEST_WAIT
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            row = self.get_row(instance_id).await?;
        }
        if row.status() != OrderStatus::AwaitingApproval || row.decision.is_some() {
            return Err(conflict_for(&row));
        }
        let claimed = read_model::claim_decision(
            &self.db,
            instance_id,
            approved,
            &approver,
            comment,
            now_ms(),
        )
        .await?;
        if !claimed {
            return Err(conflict_for(&self.get_row(instance_id).await?));
        }

        let event = Approval {
            approver_name: approver.clone(),
            approved,
        };
        if let Err(e) = self.raise_with_retry(instance_id, &event).await {
            // The event never reached the workflow: give the claim back so the order
            // can still be decided.
            read_model::release_claim(&self.db, instance_id, &approver).await?;
            return Err(match classify(&e) {
                DaprFailure::NotFound => {
                    tracing::error!(%instance_id, "read model has an order Dapr does not know");
                    ServiceError::Internal(format!("workflow instance {instance_id} is missing"))
                }
                _ => ServiceError::from_dapr("raising approval event", &e),
            });
        }
        self.confirm(instance_id, &approver, approved).await
    }

    async fn raise_with_retry(
        &self,
        instance_id: &str,
        event: &Approval,
    ) -> dapr::workflow::Result<()> {
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let options = EventOptions::new().try_with_payload(event)?;
            match self
                .client()
                .raise_event(instance_id, APPROVAL_EVENT, options)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e)
                    if matches!(classify(&e), DaprFailure::Transient | DaprFailure::Busy)
                        && started.elapsed() < RETRY_FOR =>
                {
                    tracing::debug!(%instance_id, error = %e, "raise event: retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The workflow's outcome is the truth: the timer can still win by a hair.
    async fn confirm(
        &self,
        instance_id: &str,
        approver: &str,
        approved: bool,
    ) -> Result<Decided, ServiceError> {
        let waited = self
            .client()
            .wait_for_workflow_completion_with_options(
                instance_id,
                FetchOptions::new().with_fetch_payloads(true),
                Some(CONFIRM_WAIT),
            )
            .await;
        let state = match waited {
            Ok(state) => state,
            Err(e) if matches!(classify(&e), DaprFailure::Transient | DaprFailure::Busy) => {
                return Ok(Decided {
                    instance_id: instance_id.to_owned(),
                    message: format!(
                        "Decision by {approver} accepted; the workflow has not confirmed it yet."
                    ),
                    status: OrderStatus::AwaitingApproval,
                    decided_by: approver.to_owned(),
                    confirmed: false,
                })
            }
            Err(e) => return Err(ServiceError::from_dapr("confirming decision", &e)),
        };
        self.apply_state(instance_id, &state).await?;
        let row = self.get_row(instance_id).await?;
        let expected = if approved {
            OrderStatus::Approved
        } else {
            OrderStatus::Rejected
        };
        if row.status() == expected && row.decided_by.as_deref() == Some(approver) {
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
            .ok_or_else(|| {
                ServiceError::NotFound(format!("No order with instance id {instance_id}."))
            })
    }

    /// The workflow's own state, straight from Dapr.
    pub async fn workflow_state(&self, instance_id: &str) -> Result<WorkflowState, ServiceError> {
        match self
            .client()
            .fetch_workflow_metadata(instance_id, FetchOptions::new().with_fetch_payloads(true))
            .await
        {
            Ok(state) => Ok(state.into()),
            Err(e) if classify(&e) == DaprFailure::NotFound => Err(ServiceError::NotFound(
                format!("No workflow instance {instance_id}."),
            )),
            Err(e) => Err(ServiceError::from_dapr("fetching workflow state", &e)),
        }
    }

    /// Brings one unfinished row in line with its workflow: finishes rows whose workflow
    /// ended, re-raises a claimed decision the workflow never saw (it takes only the
    /// first event, so this is safe), and schedules a submitted order whose workflow was
    /// never created (a crash between the insert and the schedule).
    pub async fn reconcile(&self, row: &OrderRow, stuck_before: i64) -> Result<(), ServiceError> {
        let fetched = self
            .client()
            .fetch_workflow_metadata(
                &row.instance_id,
                FetchOptions::new().with_fetch_payloads(true),
            )
            .await;
        match fetched {
            Ok(state) if state.runtime_status.is_terminal() => {
                if self.apply_state(&row.instance_id, &state).await? {
                    tracing::info!(instance_id = %row.instance_id, "reconciled finished workflow");
                }
            }
            Ok(_) => {
                let stuck_claim = row.claimed_at.is_some_and(|t| t < stuck_before);
                if let (true, Some(decision), Some(by)) = (
                    stuck_claim,
                    row.decision.as_deref(),
                    row.decided_by.as_deref(),
                ) {
                    tracing::info!(instance_id = %row.instance_id, "re-raising unconfirmed decision");
                    let event = Approval {
                        approver_name: by.to_owned(),
                        approved: decision == "approve",
                    };
                    self.raise_with_retry(&row.instance_id, &event)
                        .await
                        .map_err(|e| ServiceError::from_dapr("re-raising decision", &e))?;
                }
            }
            Err(e) if classify(&e) == DaprFailure::NotFound => {
                if row.status() == OrderStatus::Submitted {
                    tracing::info!(instance_id = %row.instance_id, "scheduling orphaned order");
                    match self.schedule(row).await {
                        Ok(_) => {}
                        Err(e) if classify(&e) == DaprFailure::AlreadyExists => {}
                        Err(e) => return Err(ServiceError::from_dapr("rescheduling order", &e)),
                    }
                } else {
                    read_model::finish(
                        &self.db,
                        &row.instance_id,
                        OrderStatus::Failed,
                        None,
                        Some(now_ms()),
                        Some("workflow instance no longer exists in Dapr"),
                        now_ms(),
                    )
                    .await?;
                }
            }
            Err(e) => return Err(ServiceError::from_dapr("reconciling", &e)),
        }
        Ok(())
    }
}
