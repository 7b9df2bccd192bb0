//! What the JSON API answers about orders, in the seed's shapes.

use chrono::{DateTime, Utc};
use domain::OrderStatus;
use serde::{Deserialize, Serialize};

use crate::engine::{RuntimeStatus, Snapshot};

/// Answer to a started order (the seed's shape).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Started {
    pub instance_id: String,
    pub message: String,
}

/// Answer to a decision.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkflowFailure {
    pub message: String,
    pub error_type: String,
    pub stack_trace: Option<String>,
}

impl From<Snapshot> for WorkflowState {
    fn from(s: Snapshot) -> Self {
        let failed = s.runtime_status == RuntimeStatus::Failed;
        Self {
            instance_id: s.instance_id,
            name: s.name,
            runtime_status: s.runtime_status.name().to_owned(),
            created_at: s.created_at,
            last_updated_at: s.last_updated_at,
            serialized_input: s.serialized_input,
            serialized_output: s.serialized_output,
            serialized_custom_status: s.serialized_custom_status,
            failure_details: s.failure.filter(|_| failed).map(|f| WorkflowFailure {
                message: f.message,
                error_type: f.error_type,
                stack_trace: f.stack_trace,
            }),
        }
    }
}
