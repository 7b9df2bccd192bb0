//! Deciding several orders at once (the inbox's selection). Each order gets its own
//! decision, with its own claim, event and confirmation: one that lost a race or is not
//! the manager's to decide leaves the others as they are, and none is ever half-decided.
//!
//! What the page reports afterwards is read back from the read model ([`report_line`]),
//! not carried in the redirect: a reload, another replica, or a crafted link can only
//! ever show how the orders really stand, and only to someone who may see them.

use crate::model::order::{LevelAt, OrderRow, Via};
use crate::model::people::{Actor, User};
use domain::{BulkLine, Decision, OrderStatus, ValidationErrors};
use futures::stream::{self, StreamExt};

use super::{Decided, DecisionRequest, OrderService};
use crate::kernel::error::ServiceError;

/// The most orders one bulk decision takes (four inbox pages).
pub const MAX_SELECTED: usize = 100;
/// Decisions run a few at a time: each waits briefly for its workflow.
const AT_ONCE: usize = 4;

/// Each selected order and what deciding it came to.
pub type BulkResults = Vec<(String, Result<Decided, ServiceError>)>;

impl OrderService {
    /// Approves or rejects every order in `instance_ids` as `user`, with one comment.
    /// The request as a whole is checked first (something selected, not too much, a
    /// comment that fits): when it fails, nothing is decided.
    pub async fn decide_many(
        &self,
        user: &User,
        instance_ids: &[String],
        decision: Decision,
        comment: Option<&str>,
    ) -> Result<BulkResults, ServiceError> {
        let mut errors = ValidationErrors::default();
        if decision == Decision::Cancel {
            errors.push("decision", "Choose approve or reject.");
        }
        // Each id once, in the order given. A set, not `Vec::contains`: the count comes
        // from the request and is only bounded after this.
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<String> = instance_ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect();
        if ids.is_empty() {
            errors.push("instance_id", "Select at least one order.");
        } else if ids.len() > MAX_SELECTED {
            errors.push(
                "instance_id",
                format!("Select at most {MAX_SELECTED} orders at a time."),
            );
        }
        let request = DecisionRequest {
            decision,
            comment,
            approver_name: None,
            via: Via::App,
        };
        if let Err(ServiceError::Invalid(comment_errors)) = request.validate() {
            errors.0.extend(comment_errors.0);
        }
        if !errors.0.is_empty() {
            return Err(errors.into());
        }
        let decisions = ids.into_iter().map(|id| {
            let (service, user) = (self.clone(), user.clone());
            let comment = comment.map(str::to_owned);
            async move {
                let request = DecisionRequest {
                    decision,
                    comment: comment.as_deref(),
                    approver_name: None,
                    via: Via::App,
                };
                let result = service.decide(&id, &user, request).await;
                (id, result)
            }
        });
        Ok(stream::iter(decisions).buffered(AT_ONCE).collect().await)
    }
}

/// How the order stands now for `me`, who just tried to decide it. `row` is the order
/// if `me` may see it.
pub fn report_line(me: &User, instance_id: &str, row: Option<&OrderRow>) -> BulkLine {
    let line = |decided: bool, text: String| BulkLine {
        instance_id: instance_id.to_owned(),
        order_id: row.map(|r| r.order_id.clone()),
        decided,
        text,
    };
    let Some(row) = row else {
        return line(false, "Not decided: no such order.".into());
    };
    // After several levels the outcome lists every approver; the last one decided it
    // (perhaps for someone else: "carol for dora").
    let mine = row
        .last_decider()
        .is_some_and(|last| Actor::parse(last).person == me.name);
    if row.requested_by.as_deref() == Some(me.name.as_str()) {
        return line(false, "Not allowed: it is your own order.".into());
    }
    match row.status {
        OrderStatus::Approved | OrderStatus::Rejected if mine => {
            line(true, format!("Decided: {}.", row.view().status_label()))
        }
        status if status.is_final() => line(
            false,
            format!("Already decided: {}.", row.view().status_label()),
        ),
        OrderStatus::AwaitingApproval => match (&row.decided_by, row.decision) {
            (Some(_), _) if mine => line(
                true,
                "Decided: the workflow is confirming your decision.".into(),
            ),
            (Some(by), Some(Decision::Cancel)) => {
                line(false, format!("Already cancelled by {by}."))
            }
            (Some(by), _) => line(false, format!("Already decided by {by}.")),
            (None, _) if row.approved_a_level(&me.name) => line(
                true,
                match row.level_at() {
                    Ok(LevelAt::Of { number, of, .. }) => format!(
                        "Decided: you approved an earlier level; it now waits at level {number} \
                         of {of}."
                    ),
                    _ => "Decided: you approved an earlier level; it now waits at the next one."
                        .into(),
                },
            ),
            (None, _) => match crate::rules::policy::may_decide(me, row, None) {
                Err(why) => line(false, format!("Not allowed: {why}")),
                Ok(()) => line(
                    false,
                    "Not decided: it could not be sent; try again.".into(),
                ),
            },
        },
        _ => line(
            false,
            "Not decided: it is still being set up; try again in a moment.".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::approvers::Approvers;
    use domain::Role;

    fn bob() -> User {
        User {
            id: 2,
            name: "bob".into(),
            role: Role::Manager,
            created_at: 0,
        }
    }

    fn row(status: OrderStatus, requested_by: &str, decided_by: Option<&str>) -> OrderRow {
        OrderRow {
            status,
            decision: decided_by.map(|_| Decision::Approve),
            decided_by: decided_by.map(str::to_owned),
            ..OrderRow::waiting(requested_by)
        }
    }

    #[test]
    fn each_line_says_how_the_order_stands_for_whoever_decided() {
        let bob = bob();
        let say = |r: Option<&OrderRow>| {
            let l = report_line(&bob, "po-1", r);
            (l.decided, l.text)
        };
        let approved_by_me = row(OrderStatus::Approved, "alice", Some("bob"));
        assert_eq!(
            say(Some(&approved_by_me)),
            (true, "Decided: Approved by bob.".into())
        );
        let approved_by_carol = row(OrderStatus::Approved, "alice", Some("carol"));
        assert_eq!(
            say(Some(&approved_by_carol)),
            (false, "Already decided: Approved by carol.".into())
        );
        let own = row(OrderStatus::AwaitingApproval, "bob", None);
        assert_eq!(
            say(Some(&own)),
            (false, "Not allowed: it is your own order.".into())
        );
        let claimed_by_me = row(OrderStatus::AwaitingApproval, "alice", Some("bob"));
        assert!(say(Some(&claimed_by_me)).0);
        let mut cancelling = row(OrderStatus::AwaitingApproval, "alice", Some("alice"));
        cancelling.decision = Some(Decision::Cancel);
        assert_eq!(
            say(Some(&cancelling)),
            (false, "Already cancelled by alice.".into())
        );
        let timed_out = row(OrderStatus::TimedOut, "alice", None);
        assert_eq!(
            say(Some(&timed_out)),
            (false, "Already decided: Cancelled due to timeout.".into())
        );
        let untouched = row(OrderStatus::AwaitingApproval, "alice", None);
        assert!(!say(Some(&untouched)).0);

        // Approval levels: the outcome names every approver, the last decided it; an
        // order gone on to the next level was decided by me; a directors' level is not
        // mine to decide.
        let approved_at_two_levels = row(OrderStatus::Approved, "alice", Some("carol, bob"));
        assert_eq!(
            say(Some(&approved_at_two_levels)),
            (true, "Decided: Approved by carol, bob.".into())
        );
        let next_level = OrderRow {
            level: Some(2),
            levels: Some(2),
            level_role: Some(Role::Director),
            level_approvers: Approvers::from_iter(["bob"]),
            ..untouched.clone()
        };
        assert_eq!(
            say(Some(&next_level)),
            (
                true,
                "Decided: you approved an earlier level; it now waits at level 2 of 2.".into()
            )
        );
        let directors = OrderRow {
            level_approvers: Approvers::from_iter(["carol"]),
            ..next_level
        };
        let (decided, text) = say(Some(&directors));
        assert!(
            !decided && text.starts_with("Not allowed: Level 2 of this order is for a director"),
            "{text}"
        );
        assert_eq!(say(None), (false, "Not decided: no such order.".into()));
    }
}
