//! Starting and deciding purchase orders: the rules both the JSON API and the pages
//! follow. The read model gates every request (it knows every order); the workflow is
//! the truth about outcomes.

mod assign;
mod attachments;
pub mod bulk;
pub mod by_link;
mod comments;
mod decide;
mod detail;
mod start;
mod wire;

pub use attachments::{too_large, Upload};
pub use decide::DecisionRequest;
pub use start::Recreated;
pub use wire::{Assigned, Decided, Started, WorkflowFailure, WorkflowState};

use std::sync::Arc;
use std::time::Duration;

use domain::is_instance_id;

use crate::kernel::clock::{self, SharedClock};
use crate::kernel::engine_error::FailureKind;
use crate::kernel::error::ServiceError;
use crate::model::order::OrderRow;
use crate::model::people::User;
use crate::model::workflow::WorkflowOrder;
use crate::notify::Channels;
use crate::rules::approval_policy::ApprovalPolicy;
use crate::rules::policy;
use crate::store::db::Db;
use crate::store::files::Files;
use crate::store::group_commit::GroupCommit;
use crate::store::read_model;
use crate::workflow::engine::Engine;

pub const MAX_COMMENT_LEN: usize = 500;

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
    /// Where attached files' bytes are kept; `None`: attachments are off.
    files: Option<Arc<dyn Files>>,
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
        resume: None,
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
            files: None,
        }
    }

    /// The same service keeping attached files in `files`.
    pub fn with_files(self, files: Arc<dyn Files>) -> Self {
        Self {
            files: Some(files),
            ..self
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

    /// The time by the service's clock (the system's, or a test's [`ManualClock`](crate::kernel::clock::ManualClock)).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
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
        let mut state = match self.engine.fetch(instance_id).await {
            Ok(state) => WorkflowState::from(state),
            Err(e) if e.kind == FailureKind::NotFound => WorkflowState::from_failed_row(&row)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("No workflow instance {instance_id}."))
                })?,
            Err(e) => return Err(ServiceError::from_engine("fetching workflow state", e)),
        };
        if !policy::reads_system_errors(user) {
            // `runtime_status` says it failed; how, in the system's words, is not theirs.
            state.failure_details = None;
        }
        Ok(state)
    }
}
