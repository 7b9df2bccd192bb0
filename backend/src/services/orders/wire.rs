//! What the JSON API answers about orders, in the seed's shapes.

use crate::model::order::OrderRow;
use crate::model::workflow::{Outcome, WorkflowOutput, WORKFLOW_NAME};
use chrono::{DateTime, Utc};
use domain::OrderStatus;
use serde::{Deserialize, Serialize};

use crate::kernel::clock::from_ms;
use crate::workflow::engine::{RuntimeStatus, Snapshot};

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
    /// False when the decision was recorded and sent but the workflow has not confirmed
    /// it yet (it counts if it reaches the workflow before the deadline).
    pub confirmed: bool,
}

/// Answer to an assignment: who holds the order now.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assigned {
    pub instance_id: String,
    /// Who holds the level it waits at now (`null`: nobody).
    pub assignee: Option<String>,
    pub message: String,
    /// False when it already stood so: nothing was written.
    pub changed: bool,
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

impl WorkflowState {
    /// The `/status` answer for an order whose outcome the read model holds: a final
    /// row is written only from the workflow's own outcome and never overwritten, so
    /// this is what Dapr says, without asking it (and after Dapr's retention has
    /// purged the workflow). `serialized_input` is the order as recorded, without the
    /// approval timeout it ran with. `None` for a row that has no outcome yet, or whose
    /// outcome does not say who decided it (the engine is asked then, rather than
    /// answering "Approved by " with nobody).
    pub fn from_final_row(row: &OrderRow) -> Option<Self> {
        let by = || row.decided_by.clone();
        let outcome = match row.status {
            OrderStatus::AutoApproved => Outcome::AutoApproved,
            OrderStatus::Approved => Outcome::Approved(by()?),
            OrderStatus::Rejected => Outcome::Rejected(by()?),
            OrderStatus::TimedOut => Outcome::TimedOut,
            OrderStatus::Cancelled => Outcome::Cancelled(by()?),
            OrderStatus::Submitted | OrderStatus::AwaitingApproval | OrderStatus::Failed => {
                return None
            }
        };
        let output = WorkflowOutput {
            status: outcome.status_text(),
            order_id: row.order_id.clone(),
        };
        Some(Self::recorded(row, "COMPLETED", Some(output), None))
    }

    /// The `/status` answer for a failed order whose workflow Dapr no longer has.
    pub fn from_failed_row(row: &OrderRow) -> Option<Self> {
        (row.status == OrderStatus::Failed).then(|| {
            let failure = WorkflowFailure {
                message: row
                    .failure
                    .clone()
                    .unwrap_or_else(|| "workflow failed".into()),
                error_type: "RecordedFailure".into(),
                stack_trace: None,
            };
            Self::recorded(row, "FAILED", None, Some(failure))
        })
    }

    fn recorded(
        row: &OrderRow,
        runtime_status: &str,
        output: Option<WorkflowOutput>,
        failure_details: Option<WorkflowFailure>,
    ) -> Self {
        let input = super::workflow_input(row, None, None);
        Self {
            instance_id: row.instance_id.clone(),
            name: WORKFLOW_NAME.to_owned(),
            runtime_status: runtime_status.to_owned(),
            created_at: Some(from_ms(row.created_at)),
            last_updated_at: Some(from_ms(row.decided_at.unwrap_or(row.updated_at))),
            serialized_input: serde_json::to_string(&input).ok(),
            serialized_output: output.and_then(|o| serde_json::to_string(&o).ok()),
            serialized_custom_status: None,
            failure_details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A final row answers for the engine only when it says who decided: otherwise the
    /// engine is asked, rather than answering "Approved by " with nobody.
    #[test]
    fn a_decided_row_answers_with_its_decider_or_not_at_all() {
        let approved = OrderRow {
            status: OrderStatus::Approved,
            decided_by: Some("bob".into()),
            ..OrderRow::waiting("alice")
        };
        let state = WorkflowState::from_final_row(&approved).expect("an outcome");
        let output = state.serialized_output.expect("an output");
        assert!(output.contains("Approved by bob"), "{output}");
        for status in [
            OrderStatus::Approved,
            OrderStatus::Rejected,
            OrderStatus::Cancelled,
        ] {
            let nobody = OrderRow {
                status,
                decided_by: None,
                ..approved.clone()
            };
            assert!(WorkflowState::from_final_row(&nobody).is_none(), "{status}");
        }
        let timed_out = OrderRow {
            status: OrderStatus::TimedOut,
            decided_by: None,
            ..approved
        };
        assert!(WorkflowState::from_final_row(&timed_out).is_some());
    }
}
