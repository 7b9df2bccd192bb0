//! `PurchaseOrderApprovalWorkflow`: the names and payloads the workflow, its
//! activities and its clients agree on (here), the orchestration
//! ([`orchestration`]) and the activities that write the read model ([`activities`]).
//! The payloads keep the seed's JSON shapes, so a client written for the seed, and an
//! instance started by an earlier build, keep working.

pub mod activities;
pub mod orchestration;

use dapr::workflow::{RegistryExt, WorkflowClient};
use domain::{Cents, Decision, OrderStatus};
use serde::{Deserialize, Serialize};

use crate::db::Db;

/// Registers the workflow and its activities on the client's worker registry.
pub fn register(client: &mut WorkflowClient, db: Db) {
    let registry = client.registry_mut();
    registry.add_workflow(WORKFLOW_NAME, orchestration::purchase_order_workflow);
    activities::register(registry, db);
}

pub const WORKFLOW_NAME: &str = "PurchaseOrderApprovalWorkflow";
pub const SEND_APPROVAL_REQUEST_ACTIVITY: &str = "send_approval_request_activity";
pub const PLACE_ORDER_ACTIVITY: &str = "place_order_activity";
/// Records a rejection or a timeout in the read model (the seed leaves this optional).
pub const RECORD_OUTCOME_ACTIVITY: &str = "record_outcome_activity";
pub const APPROVAL_EVENT: &str = "approval_event";

pub const STATUS_AUTO_APPROVED: &str = "Auto-Approved";
pub const STATUS_TIMED_OUT: &str = "Cancelled due to timeout";
const APPROVED_PREFIX: &str = "Approved by ";
const REJECTED_PREFIX: &str = "Rejected by ";
const CANCELLED_PREFIX: &str = "Cancelled by ";

/// Workflow input: the seed's `Order`, plus the approval timeout chosen at start so a
/// configuration change never alters the history of a running instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkflowOrder {
    pub order_id: String,
    pub cost: f64,
    pub product: String,
    pub quantity: i64,
    #[serde(default)]
    pub approval_timeout_ms: Option<u64>,
    #[serde(default)]
    pub requested_by: Option<String>,
}

impl WorkflowOrder {
    /// `cost` carries at most two decimals (validated at the edge), so this is exact.
    pub fn unit_cost(&self) -> Cents {
        Cents::from_dollars(self.cost)
    }

    pub fn total(&self) -> Cents {
        self.unit_cost().times(self.quantity)
    }

    /// How long a manager has: the timeout chosen at start, or the default for an
    /// instance started without one.
    pub fn approval_timeout(&self) -> std::time::Duration {
        self.approval_timeout_ms
            .map(std::time::Duration::from_millis)
            .unwrap_or(orchestration::DEFAULT_APPROVAL_TIMEOUT)
    }
}

/// The `approval_event` payload: the seed's decision, or the requester's cancellation.
/// A cancellation travels as the same event, so that the workflow's one wait takes
/// whichever of decision, cancellation and timer comes first; instances waiting since
/// before cancelling existed take it too.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Approval {
    #[schema(example = "ManagerX")]
    pub approver_name: String,
    pub approved: bool,
    /// Set by a cancellation (then `approver_name` is the requester); absent in the seed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schema(ignore)]
    pub cancelled: bool,
}

impl Approval {
    /// The event that carries `decision`, taken by `by`.
    pub fn new(by: &str, decision: Decision) -> Self {
        Self {
            approver_name: by.to_owned(),
            approved: decision.approved(),
            cancelled: decision == Decision::Cancel,
        }
    }

    /// What the workflow ends in when this event is the first to arrive.
    pub fn outcome(&self) -> Outcome {
        let by = self.approver_name.clone();
        match (self.cancelled, self.approved) {
            (true, _) => Outcome::Cancelled(by),
            (false, true) => Outcome::Approved(by),
            (false, false) => Outcome::Rejected(by),
        }
    }
}

/// What the workflow returns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkflowOutput {
    pub status: String,
    pub order_id: String,
}

/// The outcome a workflow output string stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    AutoApproved,
    Approved(String),
    Rejected(String),
    TimedOut,
    /// Withdrawn by its requester.
    Cancelled(String),
}

impl Outcome {
    pub fn status_text(&self) -> String {
        match self {
            Self::AutoApproved => STATUS_AUTO_APPROVED.to_owned(),
            Self::Approved(by) => format!("{APPROVED_PREFIX}{by}"),
            Self::Rejected(by) => format!("{REJECTED_PREFIX}{by}"),
            Self::TimedOut => STATUS_TIMED_OUT.to_owned(),
            Self::Cancelled(by) => format!("{CANCELLED_PREFIX}{by}"),
        }
    }

    pub fn parse(status: &str) -> Option<Self> {
        if status == STATUS_AUTO_APPROVED {
            Some(Self::AutoApproved)
        } else if status == STATUS_TIMED_OUT {
            Some(Self::TimedOut)
        } else if let Some(by) = status.strip_prefix(APPROVED_PREFIX) {
            Some(Self::Approved(by.to_owned()))
        } else if let Some(by) = status.strip_prefix(CANCELLED_PREFIX) {
            Some(Self::Cancelled(by.to_owned()))
        } else {
            status
                .strip_prefix(REJECTED_PREFIX)
                .map(|by| Self::Rejected(by.to_owned()))
        }
    }

    pub fn order_status(&self) -> OrderStatus {
        match self {
            Self::AutoApproved => OrderStatus::AutoApproved,
            Self::Approved(_) => OrderStatus::Approved,
            Self::Rejected(_) => OrderStatus::Rejected,
            Self::TimedOut => OrderStatus::TimedOut,
            Self::Cancelled(_) => OrderStatus::Cancelled,
        }
    }

    pub fn decided_by(&self) -> Option<&str> {
        match self {
            Self::Approved(by) | Self::Rejected(by) | Self::Cancelled(by) => Some(by),
            Self::AutoApproved | Self::TimedOut => None,
        }
    }
}

/// Input of `send_approval_request_activity`: the order and the deadline the workflow
/// computed from its own clock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApprovalRequest {
    pub order: WorkflowOrder,
    pub deadline_ms: i64,
}

/// Input of `place_order_activity` and `record_outcome_activity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutcomeRecord {
    pub order: WorkflowOrder,
    /// The workflow's output status text (`Approved by …`, `Cancelled due to timeout`).
    pub status: String,
    /// Workflow clock at the decision.
    pub decided_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_text_round_trips() {
        for outcome in [
            Outcome::AutoApproved,
            Outcome::Approved("bob".into()),
            Outcome::Rejected("carol".into()),
            Outcome::TimedOut,
            Outcome::Cancelled("alice".into()),
        ] {
            assert_eq!(Outcome::parse(&outcome.status_text()), Some(outcome));
        }
        assert_eq!(Outcome::parse("Something else"), None);
    }

    #[test]
    fn total_is_exact_in_cents() {
        let order = WorkflowOrder {
            order_id: "x".into(),
            cost: 0.1,
            product: "p".into(),
            quantity: 10_000,
            approval_timeout_ms: None,
            requested_by: None,
        };
        assert_eq!(order.total(), Cents(100_000));
    }
}
