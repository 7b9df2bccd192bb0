//! An order as the store reads it and the rules judge it: its row ([`OrderRow`]), the
//! facts an activity carries to recreate it ([`OrderFacts`]), which orders a list wants
//! ([`OrderQuery`], [`Decider`]), and an entry of the change feed ([`OrderChange`]).

use domain::{Cents, Decision, NewOrder, OrderStatus, OrderView, Role, SortKey};
use sqlx::FromRow;

use crate::kernel::clock::from_ms;
use crate::model::workflow::APPROVERS_SEPARATOR;

/// A row as stored; turned into [`OrderView`] for the outside world.
#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub instance_id: String,
    pub order_id: String,
    pub product: String,
    pub quantity: i64,
    pub unit_cost_cents: Cents,
    pub total_cents: Cents,
    /// An unknown status in the database fails the read: the CHECK constraint admits
    /// only the ones [`OrderStatus`] knows.
    pub status: OrderStatus,
    pub created_at: i64,
    pub deadline: Option<i64>,
    /// A claimed decision; the order's outcome only once `status` is final.
    pub decision: Option<Decision>,
    pub decided_by: Option<String>,
    pub claimed_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub failure: Option<String>,
    pub updated_at: i64,
    pub requested_by: Option<String>,
    pub decision_comment: Option<String>,
    pub approval_requested_at: Option<i64>,
    pub placed_at: Option<i64>,
    /// Why an operator should look at this order (see `read_model::set_attention`).
    pub attention: Option<String>,
    pub attention_since: Option<i64>,
    /// The approval level the order waits at (1 for the first), of `levels`, decided
    /// by `level_role` or above; all `None` for an order of the seed's single level.
    pub level: Option<i64>,
    pub levels: Option<i64>,
    pub level_role: Option<Role>,
    /// Who took part in approving the levels before (a delegate and the person they
    /// acted for, both), comma-separated in level order.
    pub level_approvers: Option<String>,
}

impl OrderRow {
    /// Whether `name` approved an earlier level of this order.
    pub fn approved_a_level(&self, name: &str) -> bool {
        self.level_approvers
            .as_deref()
            .is_some_and(|list| list.split(',').any(|n| n == name))
    }

    /// Who took the decision that ended the order, or holds the claim: after several
    /// levels `decided_by` lists every approver in turn, and this is the last (`carol
    /// for dora` where a delegate acted).
    pub fn last_decider(&self) -> Option<&str> {
        self.decided_by
            .as_deref()
            .and_then(|by| by.rsplit(APPROVERS_SEPARATOR).next())
    }

    /// The level a claim on this order is for (`None`: the seed's single level).
    pub fn level_number(&self) -> Option<u32> {
        self.level.and_then(|l| u32::try_from(l).ok())
    }

    /// Whether the level it waits at is its last (always, for the seed's single level).
    pub fn at_last_level(&self) -> bool {
        match (self.level, self.levels) {
            (Some(level), Some(levels)) => level >= levels,
            _ => true,
        }
    }

    pub fn view(&self) -> OrderView {
        let status = self.status;
        let decided_by_a_person = matches!(
            status,
            OrderStatus::Approved | OrderStatus::Rejected | OrderStatus::Cancelled
        );
        OrderView {
            instance_id: self.instance_id.clone(),
            order_id: self.order_id.clone(),
            product: self.product.clone(),
            quantity: self.quantity,
            unit_cost: self.unit_cost_cents,
            total: self.total_cents,
            status,
            created_at: from_ms(self.created_at),
            approval_deadline: self.deadline.map(from_ms),
            // A claim is not a decision until the workflow confirms it, and an order
            // that timed out or failed was decided by nobody, whoever had claimed it.
            decided_by: decided_by_a_person
                .then(|| self.decided_by.clone())
                .flatten(),
            decided_at: self.decided_at.map(from_ms),
            requested_by: self.requested_by.clone(),
            comment: decided_by_a_person
                .then(|| self.decision_comment.clone())
                .flatten(),
            needs_attention: self.attention.is_some(),
        }
    }
}

#[cfg(test)]
impl OrderRow {
    /// A $2,000 order of `requested_by`'s waiting for approval (unit tests).
    pub(crate) fn waiting(requested_by: &str) -> Self {
        OrderRow {
            instance_id: "po-1".into(),
            order_id: "1".into(),
            product: "Desk".into(),
            quantity: 1,
            unit_cost_cents: Cents(200_000),
            total_cents: Cents(200_000),
            status: OrderStatus::AwaitingApproval,
            created_at: 0,
            deadline: None,
            decision: None,
            decided_by: None,
            claimed_at: None,
            decided_at: None,
            failure: None,
            updated_at: 0,
            requested_by: Some(requested_by.into()),
            decision_comment: None,
            approval_requested_at: None,
            placed_at: None,
            attention: None,
            attention_since: None,
            level: None,
            levels: None,
            level_role: None,
            level_approvers: None,
        }
    }
}

/// The order data an activity carries, so a row that is missing (lost insert,
/// compensated start) is recreated rather than silently skipped.
#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub instance_id: String,
    pub order_id: String,
    pub product: String,
    pub quantity: i64,
    pub unit_cost: Cents,
    pub requested_by: Option<String>,
}

impl OrderFacts {
    pub fn from_new(order: &NewOrder, requested_by: &str) -> Self {
        Self {
            instance_id: order.instance_id(),
            order_id: order.order_id.to_string(),
            product: order.product.clone(),
            quantity: order.quantity,
            unit_cost: order.unit_cost,
            requested_by: Some(requested_by.to_owned()),
        }
    }

    /// What the order costs in all.
    pub fn total(&self) -> Cents {
        self.unit_cost.times(self.quantity)
    }

    pub fn from_row(row: &OrderRow) -> Self {
        Self {
            instance_id: row.instance_id.clone(),
            order_id: row.order_id.clone(),
            product: row.product.clone(),
            quantity: row.quantity,
            unit_cost: row.unit_cost_cents,
            requested_by: row.requested_by.clone(),
        }
    }
}

/// Which orders a page or the list API wants.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    /// Only orders that have reached a final status.
    pub decided_only: bool,
    pub requested_by: Option<String>,
    /// Case-insensitive text in the order id, product or requester.
    pub text: Option<String>,
    /// Instead of the list's own order.
    pub sort: Option<SortKey>,
    /// Only orders whose current level one of these may decide (none: no such filter).
    pub deciders: Vec<Decider>,
}

/// Someone an inbox is for: the reader, or the reader acting for someone who delegated
/// to them. An order fits when `role` reaches its level's and none of `people` approved
/// a level before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    pub role: Role,
    pub people: Vec<String>,
}

/// One entry of the change feed (`order_changes`).
#[derive(Debug, Clone, serde::Serialize, FromRow)]
pub struct OrderChange {
    #[serde(skip)]
    pub id: i64,
    pub instance_id: String,
    /// The order's new status, or `deleted` (a start that could not schedule its
    /// workflow takes its row back).
    pub status: String,
    /// Whose order it is: the stream sends a change only to those who may see it.
    #[serde(skip)]
    pub requested_by: Option<String>,
}

pub type ChangeBatch = std::sync::Arc<Vec<OrderChange>>;
