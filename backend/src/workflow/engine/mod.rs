//! The workflow engine as the rules for orders see it: schedule an order's workflow,
//! raise a decision into it, read its state. [`dapr::DaprEngine`] is the real one (the
//! Dapr sidecar, with our deadlines, retries and error classification);
//! [`memory::MemoryEngine`] stands in for it in fast tests of our own logic.

pub mod dapr;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod relay;

use crate::model::workflow::{Approval, WorkflowOrder};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::kernel::engine_error::{EngineError, FailureKind};

/// A workflow instance's runtime status (Dapr's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeStatus {
    Pending,
    Running,
    Completed,
    ContinuedAsNew,
    Failed,
    Canceled,
    Terminated,
    Suspended,
    Stalled,
}

impl RuntimeStatus {
    /// The seed's `/status` spelling (`RUNNING`, `COMPLETED`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::ContinuedAsNew => "CONTINUED_AS_NEW",
            Self::Failed => "FAILED",
            Self::Canceled => "CANCELED",
            Self::Terminated => "TERMINATED",
            Self::Pending => "PENDING",
            Self::Suspended => "SUSPENDED",
            Self::Stalled => "STALLED",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::Terminated
        )
    }
}

/// Why a workflow failed, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureDetails {
    pub message: String,
    pub error_type: String,
    pub stack_trace: Option<String>,
}

/// One workflow instance's state, with its payloads.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub instance_id: String,
    pub name: String,
    pub runtime_status: RuntimeStatus,
    pub created_at: Option<DateTime<Utc>>,
    pub last_updated_at: Option<DateTime<Utc>>,
    pub serialized_input: Option<String>,
    pub serialized_output: Option<String>,
    pub serialized_custom_status: Option<String>,
    pub failure: Option<FailureDetails>,
}

#[async_trait::async_trait]
pub trait WorkflowEngine: Send + Sync + 'static {
    /// Creates the order's workflow instance (`AlreadyExists` when the id is taken).
    async fn schedule(&self, instance_id: &str, input: &WorkflowOrder) -> Result<(), EngineError>;

    /// Delivers a decision to the instance's `approval_event`. The workflow takes the
    /// first event only, so raising the same decision again is harmless.
    async fn raise_approval(
        &self,
        instance_id: &str,
        approval: &Approval,
    ) -> Result<(), EngineError>;

    /// Ends a running instance for good (an operator's decision; the reason is kept
    /// in our own records).
    async fn terminate(&self, instance_id: &str) -> Result<(), EngineError>;

    /// The instance's state (`NotFound` when there is none).
    async fn fetch(&self, instance_id: &str) -> Result<Snapshot, EngineError>;

    /// Waits up to `within` for the instance to finish; `Unknown` if it has not.
    async fn wait_for_completion(
        &self,
        instance_id: &str,
        within: Duration,
    ) -> Result<Snapshot, EngineError>;

    /// The instance's recorded history, oldest event first (`NotFound` when there is
    /// none). An engine that records none says so.
    async fn history(
        &self,
        _instance_id: &str,
    ) -> Result<Vec<crate::workflow::history::HistoryEvent>, EngineError> {
        Err(EngineError::new(
            FailureKind::Other,
            "this workflow engine records no history",
        ))
    }
}

pub type Engine = Arc<dyn WorkflowEngine>;
