//! `PurchaseOrderApprovalWorkflow`'s contract: the names and payloads the workflow, its
//! activities and its clients agree on. The payloads keep the seed's JSON shapes, so a
//! client written for the seed, and an instance started by an earlier build, keep
//! working. They sit below the store and the rules because the read model records a
//! level's ask ([`LevelAsk`]) and the approval policy makes the levels ([`Level`]).

use domain::{Cents, Decision, OrderStatus, Role};
use serde::{Deserialize, Serialize};

/// The longest an order may wait for a decision: far past any real deadline, and well
/// inside what the workflow's durable timer and the read model's millisecond times
/// hold (a timer a thousand years out made the orchestration panic). Longer ones are
/// refused at start-up, in `APPROVAL_TIMEOUT` and in an approval policy alike.
pub const MAX_APPROVAL_TIMEOUT: std::time::Duration =
    std::time::Duration::from_secs(366 * 24 * 60 * 60);

/// Used when an instance was started without an explicit timeout in its input.
pub const DEFAULT_APPROVAL_TIMEOUT: std::time::Duration =
    std::time::Duration::from_secs(24 * 60 * 60);

/// The level and role a request or reminder names for the seed's single level (an
/// order started without an approval policy, which any manager or director decides).
pub const SINGLE_LEVEL: (u32, Role) = (1, Role::Manager);

pub const WORKFLOW_NAME: &str = "PurchaseOrderApprovalWorkflow";
pub const SEND_APPROVAL_REQUEST_ACTIVITY: &str = "send_approval_request_activity";
pub const PLACE_ORDER_ACTIVITY: &str = "place_order_activity";
/// Reminds those who may decide a level that its deadline nears.
pub const SEND_REMINDER_ACTIVITY: &str = "send_reminder_activity";
/// Records a rejection or a timeout in the read model (the seed leaves this optional).
pub const RECORD_OUTCOME_ACTIVITY: &str = "record_outcome_activity";
pub const APPROVAL_EVENT: &str = "approval_event";

pub const STATUS_AUTO_APPROVED: &str = "Auto-Approved";
pub const STATUS_TIMED_OUT: &str = "Cancelled due to timeout";
const APPROVED_PREFIX: &str = "Approved by ";
const REJECTED_PREFIX: &str = "Rejected by ";
const CANCELLED_PREFIX: &str = "Cancelled by ";
/// Between the approvers of an order's levels in its outcome ("Approved by bob, dana").
pub const APPROVERS_SEPARATOR: &str = ", ";

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
    /// The approval levels, fixed from the approval policy when the order started, so
    /// that a new policy never changes an order already running. Absent: the seed's
    /// rule (see [`WorkflowOrder::levels`]), as for every order started without a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<Level>>,
    /// Set only on a workflow created again for an order the read model held waiting
    /// (restored from a backup into an empty Dapr state): where it takes up the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeAt>,
}

/// Where a workflow created again takes up its order: the level it waited at (1 for the
/// first), asked of whom, who approved the levels before, and the deadline it kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResumeAt {
    pub level: u32,
    pub role: Role,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub escalated: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
    pub deadline_ms: i64,
}

/// One level of approval an order must pass.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Level {
    /// The least role that decides it: a director may decide a managers' level too.
    pub role: Role,
    pub timeout_ms: u64,
    /// A reminder this long before the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_before_ms: Option<u64>,
    /// On timeout, a director is asked instead (with a fresh deadline).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub escalate: bool,
}

impl Level {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms)
    }
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
            .unwrap_or(DEFAULT_APPROVAL_TIMEOUT)
    }

    /// The levels this order is asked, in turn: those fixed at its start, or else the
    /// seed's rule, one level of managers from $1000 on.
    pub fn levels(&self) -> Vec<Level> {
        match &self.levels {
            Some(levels) => levels.clone(),
            None if self.total() < Cents::APPROVAL_THRESHOLD => Vec::new(),
            None => vec![Level {
                role: Role::Manager,
                timeout_ms: u64::try_from(self.approval_timeout().as_millis()).unwrap_or(u64::MAX),
                remind_before_ms: None,
                escalate: false,
            }],
        }
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
    /// The approval level decided (1 for the first). A workflow that has moved past it
    /// drops the event, so a decision raised again can never count for the next level.
    /// Absent: whichever level waits (the seed's events; cancellations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub level: Option<u32>,
    /// The role the level was asked of when the decision was claimed: a managers'
    /// decision that arrives after its level escalated to a director is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub role: Option<Role>,
}

impl Approval {
    /// The event that carries `decision`, taken by `by` at `level` asked of `role` (a
    /// cancellation stands at any level).
    pub fn new(by: &str, decision: Decision, level: Option<u32>, role: Option<Role>) -> Self {
        let cancelled = decision == Decision::Cancel;
        Self {
            approver_name: by.to_owned(),
            approved: decision.approved(),
            cancelled,
            level: level.filter(|_| !cancelled),
            role: role.filter(|_| !cancelled),
        }
    }

    /// Whether a workflow waiting at `level`, asked of `role`, takes this event.
    pub fn is_for(&self, level: u32, role: Role) -> bool {
        self.cancelled
            || (self.level.is_none_or(|l| l == level) && self.role.is_none_or(|r| r == role))
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
    /// Approved at every level, by these people in level order: the seed's "Approved
    /// by bob" for one level, "Approved by bob, dana" for two.
    pub fn approved_by(approvers: &[String]) -> Self {
        Self::Approved(approvers.join(APPROVERS_SEPARATOR))
    }

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
    /// The level asked, for an order with levels from a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<LevelAsk>,
}

/// Which level an approval request asks, and who approved the levels before it. The
/// workflow also shows it as its custom status, from which the reconciler repairs a
/// request the read model missed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LevelAsk {
    /// 1 for the first level.
    pub number: u32,
    /// How many levels the order has.
    pub of: u32,
    pub role: Role,
    /// In level order.
    pub approved_by: Vec<String>,
    /// Asked again, of a director, because nobody decided in time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub escalated: bool,
}

/// Input of `send_reminder_activity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReminderRequest {
    pub order: WorkflowOrder,
    /// `None`: the seed's single level.
    pub level: Option<LevelAsk>,
    pub deadline_ms: i64,
}

/// The workflow's custom status while it waits at a level of a policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WaitingAt {
    #[serde(flatten)]
    pub level: LevelAsk,
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
            Outcome::approved_by(&["bob".into(), "dana".into()]),
        ] {
            assert_eq!(Outcome::parse(&outcome.status_text()), Some(outcome));
        }
        assert_eq!(Outcome::parse("Something else"), None);
        assert_eq!(
            Outcome::approved_by(&["bob".into(), "dana".into()]).status_text(),
            "Approved by bob, dana"
        );
    }

    #[test]
    fn a_decision_counts_only_for_its_level_and_a_cancellation_for_any() {
        let approval = Approval::new("bob", Decision::Approve, Some(1), Some(Role::Manager));
        assert!(approval.is_for(1, Role::Manager));
        assert!(
            !approval.is_for(2, Role::Manager),
            "raised again after level 1 moved on"
        );
        assert!(
            !approval.is_for(1, Role::Director),
            "arrived after level 1 escalated to a director"
        );
        let seed = Approval::new("bob", Decision::Approve, None, None);
        assert!(seed.is_for(1, Role::Manager) && seed.is_for(2, Role::Director));
        let cancel = Approval::new("alice", Decision::Cancel, Some(1), Some(Role::Manager));
        assert!(cancel.is_for(2, Role::Director));
        assert_eq!((cancel.level, cancel.role), (None, None));
        assert_eq!(
            serde_json::to_value(&seed).expect("serialises"),
            serde_json::json!({"approver_name": "bob", "approved": true}),
            "the seed's shape"
        );
    }

    #[test]
    fn without_levels_an_order_follows_the_seed() {
        let order = |cost: f64| WorkflowOrder {
            order_id: "x".into(),
            cost,
            product: "p".into(),
            quantity: 1,
            approval_timeout_ms: Some(30_000),
            requested_by: None,
            levels: None,
            resume: None,
        };
        assert!(order(999.99).levels().is_empty());
        assert_eq!(
            order(1000.0).levels(),
            [Level {
                role: Role::Manager,
                timeout_ms: 30_000,
                remind_before_ms: None,
                escalate: false,
            }]
        );
        let json = serde_json::to_value(order(5.0)).expect("serialises");
        assert!(json.get("levels").is_none(), "an input of the old shape");
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
            levels: None,
            resume: None,
        };
        assert_eq!(order.total(), Cents(100_000));
    }
}
