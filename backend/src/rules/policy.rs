//! Who may see and do what, in one place. Every path that shows or changes an order
//! asks here: the pages, the server functions, the JSON API and the event stream.
//!
//! - Managers and directors see every order; requesters see only their own. An order someone may
//!   not see does not exist for them (404, never 403), so ids cannot be probed.
//! - Only managers and directors decide, never on their own order, and always as
//!   themselves. Under an approval policy, each level names the least role that
//!   decides it (a director decides a managers' level too), and nobody decides two
//!   levels of one order (four eyes).
//! - Only the requester of an order cancels it.
//! - Only managers and directors delegate their decisions, and a delegate acts with
//!   the delegator's role, for orders neither of them requested (`deciding_as`).
//! - Everyone who sees an order sees that it needs attention; only those who decide
//!   orders read why
//!   (the reason is the system's own words: Dapr errors, failures).

use crate::model::order::{Decider, LevelAt, OrderChange, OrderQuery, OrderRow};
use crate::model::people::{Actor, Delegator, User};
use domain::Role;

use crate::kernel::error::ServiceError;

/// Whether `user` may read the system's own words about an order's trouble (why it
/// needs an operator, a failed workflow's error and stack trace): deciders may;
/// requesters see only that something went wrong.
pub fn reads_system_errors(user: &User) -> bool {
    match user.role {
        Role::Manager | Role::Director => true,
        Role::Requester => false,
    }
}

/// Why `row` needs an operator, for those who may read it.
pub fn attention_reason(user: &User, row: &OrderRow) -> Option<String> {
    reads_system_errors(user)
        .then(|| row.attention.clone())
        .flatten()
}

/// Which orders a user's lists may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    RequestedBy(String),
}

pub fn scope(user: &User) -> Scope {
    match user.role {
        Role::Manager | Role::Director => Scope::Everything,
        Role::Requester => Scope::RequestedBy(user.name.clone()),
    }
}

impl Scope {
    /// Narrows `query` to what this scope may list.
    pub fn restrict(&self, query: OrderQuery) -> OrderQuery {
        match self {
            Self::Everything => query,
            Self::RequestedBy(name) => OrderQuery {
                requested_by: Some(name.clone()),
                ..query
            },
        }
    }

    fn admits(&self, requested_by: Option<&str>) -> bool {
        match self {
            Self::Everything => true,
            Self::RequestedBy(name) => requested_by == Some(name.as_str()),
        }
    }
}

pub fn can_view(user: &User, order: &OrderRow) -> bool {
    scope(user).admits(order.requested_by.as_deref())
}

/// Whether a change on the event stream concerns an order `user` may see.
pub fn can_view_change(user: &User, change: &OrderChange) -> bool {
    scope(user).admits(change.requested_by.as_deref())
}

/// The "no such order" every path answers for an order the user may not see.
pub fn not_found(instance_id: &str) -> ServiceError {
    ServiceError::NotFound(format!("No order {instance_id}."))
}

/// The order, if `user` may see it; otherwise the same 404 as for no order at all.
pub fn visible(
    user: &User,
    order: Option<OrderRow>,
    instance_id: &str,
) -> Result<OrderRow, ServiceError> {
    order
        .filter(|row| can_view(user, row))
        .ok_or_else(|| not_found(instance_id))
}

/// Whether `user` may look at the inbox (pending and decided orders of all).
pub fn can_use_inbox(user: &User) -> bool {
    user.decides_orders()
}

/// Why `user` may not decide `order` as `approver_name`, if they may not. The approver
/// is always the caller: a request naming someone else is refused, never recorded as
/// theirs.
pub fn may_decide(
    user: &User,
    order: &OrderRow,
    approver_name: Option<&str>,
) -> Result<(), ServiceError> {
    if !user.decides_orders() {
        return Err(ServiceError::Forbidden(
            "Only managers and directors can approve or reject orders.".into(),
        ));
    }
    if let Some(name) = approver_name.map(str::trim).filter(|n| !n.is_empty()) {
        if name != user.name {
            return Err(ServiceError::Forbidden(format!(
                "approver_name {name:?} is not you ({}); the approver is always the caller.",
                user.name
            )));
        }
    }
    if order.requested_by.as_deref() == Some(user.name.as_str()) {
        return Err(ServiceError::Forbidden(
            "You cannot approve or reject your own order.".into(),
        ));
    }
    match order.level_at() {
        Ok(LevelAt::Single) => {}
        Ok(LevelAt::Of { number, role, .. }) => {
            if !reaches(user.role, role) {
                return Err(ServiceError::Forbidden(format!(
                    "Level {number} of this order is for a {}; you are a {}.",
                    role.as_str(),
                    user.role.as_str()
                )));
            }
        }
        // Whose level it is cannot be told: nobody decides it on a guess.
        Err(e) => return Err(ServiceError::Internal(e.to_string())),
    }
    if order.approved_a_level(&user.name) {
        return Err(ServiceError::Forbidden(
            "You approved an earlier level of this order; another person decides this one \
             (four eyes)."
                .into(),
        ));
    }
    Ok(())
}

/// Whom `user` decides `order` as: themselves when they may, otherwise one of
/// `delegators` (whose decisions they hold now) who may, in which case the record names
/// both: `carol for dora`. Acting for someone, the delegator's role counts, and neither
/// of them may be the requester or have approved an earlier level. When nobody fits,
/// the refusal is the caller's own.
pub fn deciding_as(
    user: &User,
    order: &OrderRow,
    approver_name: Option<&str>,
    delegators: &[Delegator],
) -> Result<Actor, ServiceError> {
    let own = match may_decide(user, order, approver_name) {
        Ok(()) => return Ok(Actor::person(&user.name)),
        Err(refused) => refused,
    };
    if !user.decides_orders()
        || approver_name.is_some_and(|n| !n.trim().is_empty() && n.trim() != user.name)
    {
        return Err(own);
    }
    delegators
        .iter()
        .find(|d| may_decide_for(user, d, order))
        .map(|d| Actor::acting_for(&user.name, &d.name))
        .ok_or(own)
}

fn may_decide_for(user: &User, delegator: &Delegator, order: &OrderRow) -> bool {
    let neither = |name: &str| name != user.name && name != delegator.name;
    let reaches_level = match order.level_at() {
        Ok(LevelAt::Single) => true,
        Ok(LevelAt::Of { role, .. }) => reaches(delegator.role, role),
        Err(_) => false,
    };
    order.requested_by.as_deref().is_none_or(neither)
        && reaches_level
        && !order.approved_a_level(&user.name)
        && !order.approved_a_level(&delegator.name)
}

/// Why `user` may not hand `order`'s level to `to` (a colleague, with whose
/// decisions they hold now), or hand it back (`to` is `None`), if they may not.
/// Holding an order decides nothing; this says only who may move it between people:
///
/// - someone who may decide the level (as themselves or for someone), or a director
///   (directors may reassign any order); and the holder may always hand it back;
/// - only to someone who may decide that level, as the inbox and a decision would let
///   them (their role, a delegation they hold, four eyes, not their own order).
pub fn may_assign(
    user: &User,
    user_delegators: &[Delegator],
    order: &OrderRow,
    to: Option<(&User, &[Delegator])>,
) -> Result<(), ServiceError> {
    if !user.decides_orders() {
        return Err(ServiceError::Forbidden(
            "Only managers and directors assign orders.".into(),
        ));
    }
    let holder_hands_back = to.is_none() && order.assignee.as_deref() == Some(user.name.as_str());
    let may = user.role == Role::Director
        || holder_hands_back
        || deciding_as(user, order, None, user_delegators).is_ok();
    if !may {
        return Err(ServiceError::Forbidden(
            "You may not decide this order at the level it waits at, so you cannot assign it."
                .into(),
        ));
    }
    match to {
        Some((colleague, delegators)) if deciding_as(colleague, order, None, delegators).is_err() => {
            Err(ServiceError::Forbidden(format!(
                "{} may not decide this order at the level it waits at (their role, their own                  order, or an earlier level they approved), so it cannot be assigned to them.",
                colleague.name
            )))
        }
        _ => Ok(()),
    }
}

/// Whether `user` takes part in `order`'s thread (reads and writes it): its
/// requester, whoever may decide it while it waits (as themselves or for someone
/// whose decisions they hold), and whoever decided a level of it or its outcome.
/// Everyone else who may see the order is refused (403); those who may not see it get
/// the order's 404 before this is asked.
pub fn may_discuss(
    user: &User,
    delegators: &[Delegator],
    order: &OrderRow,
) -> Result<(), ServiceError> {
    let requester = order.requested_by.as_deref() == Some(user.name.as_str());
    let decides = order.status == domain::OrderStatus::AwaitingApproval
        && deciding_as(user, order, None, delegators).is_ok();
    let decided = order.approved_a_level(&user.name)
        || order
            .last_decider()
            .is_some_and(|record| Actor::parse(record).into_people().any(|n| n == user.name));
    if requester || decides || decided {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Only the order's requester and those who decide it, or decided it, take part in \
             its thread."
                .into(),
        ))
    }
}

/// Whether `user` may attach a file to `order`: its requester, while it waits (the
/// quote belongs with the request, before anyone has decided it; the order form
/// attaches its files before the workflow starts). Everyone else who may see the order
/// is refused (403); a requester whose order moved on, 409.
pub fn may_attach(user: &User, order: &OrderRow) -> Result<(), ServiceError> {
    if order.requested_by.as_deref() != Some(user.name.as_str()) {
        return Err(ServiceError::Forbidden(
            "Only the order's requester attaches files to it.".into(),
        ));
    }
    let waits = matches!(
        order.status,
        domain::OrderStatus::Submitted | domain::OrderStatus::AwaitingApproval
    ) && order.decided_by.is_none();
    if !waits {
        return Err(ServiceError::Conflict {
            message: format!(
                "Files are attached while an order waits for approval; order {} is {}.",
                order.order_id,
                order
                    .status
                    .label(order.decided_by.as_deref())
                    .to_lowercase()
            ),
            status: Some(order.status),
            decided_by: None,
        });
    }
    Ok(())
}

/// Why `user` may not hand their decisions to another, if they may not: only those
/// who decide orders have any to hand on.
pub fn may_delegate(user: &User) -> Result<(), ServiceError> {
    if user.decides_orders() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Only managers and directors decide orders, so only they can delegate.".into(),
        ))
    }
}

/// Whether someone of role `who` may decide a level meant for `level`: a director
/// decides a managers' level too.
pub fn reaches(who: Role, level: Role) -> bool {
    match level {
        Role::Requester => false,
        Role::Manager => who.decides_orders(),
        Role::Director => who == Role::Director,
    }
}

/// What a person's inbox holds: the waiting orders at a level they may decide, as
/// themselves or for someone whose decisions they hold now (`delegators`).
pub fn inbox_deciders(user: &User, delegators: &[Delegator]) -> Vec<Decider> {
    if !user.decides_orders() {
        return Vec::new();
    }
    let mut deciders = vec![Decider {
        role: user.role,
        people: vec![user.name.clone()],
    }];
    deciders.extend(delegators.iter().map(|d| Decider {
        role: d.role,
        people: vec![user.name.clone(), d.name.clone()],
    }));
    deciders
}

/// Whether an inbox for `deciders` (see [`inbox_deciders`]) shows `order`: one of them
/// reaches the role of the level it waits at, and none of that one's people approved a
/// level before. The inbox's SQL filter (`OrderQuery::deciders`) is this rule, held to
/// it by a test on generated cases. It shows the reader's own orders too (marked as
/// theirs, without a decision's buttons): everything [`deciding_as`] admits is shown,
/// and what is shown but not admitted is someone's own order.
pub fn inbox_shows(deciders: &[Decider], order: &OrderRow) -> bool {
    deciders.iter().any(|decider| {
        order
            .level_role
            .is_none_or(|level| reaches(decider.role, level))
            && !decider
                .people
                .iter()
                .any(|name| order.approved_a_level(name))
    })
}

/// Why `user` may not cancel `order`, if they may not: only whoever requested it may,
/// managers included (they decide on others' orders, and withdraw only their own).
pub fn may_cancel(user: &User, order: &OrderRow) -> Result<(), ServiceError> {
    if order.requested_by.as_deref() == Some(user.name.as_str()) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Only the person who requested an order can cancel it.".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::approvers::Approvers;

    fn user(name: &str, role: Role) -> User {
        User {
            id: 1,
            name: name.into(),
            role,
            created_at: 0,
        }
    }

    fn order(requested_by: &str) -> OrderRow {
        OrderRow::waiting(requested_by)
    }

    #[test]
    fn requesters_see_their_own_orders_and_managers_all() {
        let (alice, dave, bob) = (
            user("alice", Role::Requester),
            user("dave", Role::Requester),
            user("bob", Role::Manager),
        );
        let alices = order("alice");
        assert!(can_view(&alice, &alices));
        assert!(!can_view(&dave, &alices));
        assert!(can_view(&bob, &alices));
        assert!(visible(&dave, Some(alices.clone()), "po-1").is_err());
        assert_eq!(
            scope(&dave).restrict(OrderQuery::default()).requested_by,
            Some("dave".into())
        );
        assert_eq!(
            scope(&bob).restrict(OrderQuery::default()).requested_by,
            None
        );
    }

    #[test]
    fn only_those_who_may_decide_a_level_assign_it_and_only_to_such_people() {
        let (alice, bob, carol, dora) = (
            user("alice", Role::Requester),
            user("bob", Role::Manager),
            user("carol", Role::Manager),
            user("dora", Role::Director),
        );
        let none: &[Delegator] = &[];
        let alices = order("alice");
        assert!(
            may_assign(&bob, none, &alices, Some((&bob, none))).is_ok(),
            "a claim"
        );
        assert!(may_assign(&bob, none, &alices, Some((&carol, none))).is_ok());
        assert!(may_assign(&alice, none, &alices, Some((&bob, none))).is_err());
        assert!(
            may_assign(&bob, none, &alices, Some((&alice, none))).is_err(),
            "nobody decides their own order"
        );
        let directors_level = OrderRow {
            level: Some(2),
            levels: Some(2),
            level_role: Some(Role::Director),
            level_approvers: Approvers::from_iter(["carol"]),
            assignee: Some("dora".into()),
            ..order("alice")
        };
        assert!(may_assign(&bob, none, &directors_level, Some((&bob, none))).is_err());
        assert!(may_assign(&bob, none, &directors_level, None).is_err());
        assert!(
            may_assign(&dora, none, &directors_level, Some((&carol, none))).is_err(),
            "carol approved level 1"
        );
        assert!(may_assign(&dora, none, &directors_level, None).is_ok());
        // A manager holding a director's decisions decides, and is assigned, for her.
        let for_dora = [Delegator {
            name: "dora".into(),
            role: Role::Director,
        }];
        assert!(may_assign(&dora, none, &directors_level, Some((&bob, &for_dora))).is_ok());
        assert!(may_assign(&bob, &for_dora, &directors_level, Some((&bob, &for_dora))).is_ok());
        // A director reassigns any order; the holder hands theirs back.
        let bobs_own = OrderRow {
            assignee: Some("carol".into()),
            ..order("bob")
        };
        assert!(may_assign(&bob, none, &bobs_own, Some((&carol, none))).is_err());
        assert!(may_assign(&dora, none, &bobs_own, Some((&carol, none))).is_ok());
        assert!(may_assign(&carol, none, &bobs_own, None).is_ok());
    }

    #[test]
    fn the_thread_is_the_requesters_and_its_deciders() {
        let (alice, dave, bob, dora) = (
            user("alice", Role::Requester),
            user("dave", Role::Requester),
            user("bob", Role::Manager),
            user("dora", Role::Director),
        );
        let none: &[Delegator] = &[];
        let waiting = order("alice");
        assert!(may_discuss(&alice, none, &waiting).is_ok());
        assert!(may_discuss(&bob, none, &waiting).is_ok());
        assert!(may_discuss(&dave, none, &waiting).is_err());
        let directors_level = OrderRow {
            level: Some(2),
            levels: Some(2),
            level_role: Some(Role::Director),
            level_approvers: Approvers::from_iter(["carol"]),
            ..order("alice")
        };
        assert!(
            may_discuss(&bob, none, &directors_level).is_err(),
            "not his level"
        );
        assert!(may_discuss(&user("carol", Role::Manager), none, &directors_level).is_ok());
        assert!(may_discuss(&dora, none, &directors_level).is_ok());
        // Once decided: its deciders (a delegate and whom they acted for) and its
        // requester, nobody else.
        let decided = OrderRow {
            status: domain::OrderStatus::Approved,
            decided_by: Some("erin for dora".into()),
            ..order("alice")
        };
        assert!(may_discuss(&bob, none, &decided).is_err());
        assert!(may_discuss(&dora, none, &decided).is_ok());
        assert!(may_discuss(&user("erin", Role::Manager), none, &decided).is_ok());
        assert!(may_discuss(&alice, none, &decided).is_ok());
    }

    #[test]
    fn only_managers_decide_others_orders_as_themselves() {
        let (alice, bob) = (user("alice", Role::Requester), user("bob", Role::Manager));
        assert!(may_decide(&alice, &order("dave"), None).is_err());
        assert!(may_decide(&bob, &order("bob"), None).is_err());
        assert!(may_decide(&bob, &order("alice"), Some("carol")).is_err());
        assert!(may_decide(&bob, &order("alice"), Some("bob")).is_ok());
        assert!(may_decide(&bob, &order("alice"), Some(" ")).is_ok());
        assert!(may_decide(&bob, &order("alice"), None).is_ok());
    }

    #[test]
    fn directors_see_and_decide_as_managers_do_never_their_own_orders() {
        let (dana, bob) = (user("dana", Role::Director), user("bob", Role::Manager));
        assert!(can_use_inbox(&dana));
        assert!(can_view(&dana, &order("alice")));
        assert_eq!(scope(&dana), Scope::Everything);
        assert!(may_decide(&dana, &order("alice"), None).is_ok());
        assert!(may_decide(&dana, &order("dana"), None).is_err());
        assert!(may_decide(&dana, &order("alice"), Some("bob")).is_err());

        // Levels: a manager cannot decide a directors' level, a director decides any,
        // and nobody decides a second level of one order.
        let at_directors = OrderRow {
            level: Some(2),
            levels: Some(2),
            level_role: Some(Role::Director),
            level_approvers: Approvers::from_iter(["carol"]),
            ..order("alice")
        };
        let refused = may_decide(&bob, &at_directors, None).expect_err("a manager");
        assert!(
            refused.to_string().contains("is for a director"),
            "{refused}"
        );
        assert!(may_decide(&dana, &at_directors, None).is_ok());
        // A level whose role is not recorded is nobody's to decide on a guess.
        let whose = OrderRow {
            level_role: None,
            ..at_directors.clone()
        };
        let refused = may_decide(&dana, &whose, None).expect_err("no role");
        assert!(matches!(refused, ServiceError::Internal(_)), "{refused:?}");
        let dora = [Delegator {
            name: "dora".into(),
            role: Role::Director,
        }];
        assert!(deciding_as(&bob, &whose, None, &dora).is_err());
        let again = OrderRow {
            level_approvers: Approvers::from_iter(["carol", "dana"]),
            ..at_directors
        };
        let refused = may_decide(&dana, &again, None).expect_err("four eyes");
        assert!(refused.to_string().contains("four eyes"), "{refused}");
        // Delegation: carol holds dora's decisions; she decides the directors' level for
        // her, unless either of them approved a level, or it is either one's own order.
        let carol = user("carol", Role::Manager);
        let holds_doras = [Delegator {
            name: "dora".into(),
            role: Role::Director,
        }];
        let for_dora = OrderRow {
            level_approvers: Approvers::from_iter(["bob"]),
            ..again.clone()
        };
        assert_eq!(
            deciding_as(&carol, &for_dora, None, &holds_doras).expect("for dora"),
            Actor::acting_for("carol", "dora")
        );
        assert!(deciding_as(&carol, &for_dora, None, &[]).is_err());
        assert!(deciding_as(&carol, &for_dora, Some("dora"), &holds_doras).is_err());
        for approvers in [&["carol"][..], &["dora"], &["bob", "erin", "dora"]] {
            let seen = OrderRow {
                level_approvers: Approvers::from_iter(approvers.iter().copied()),
                ..for_dora.clone()
            };
            assert!(
                deciding_as(&carol, &seen, None, &holds_doras).is_err(),
                "{approvers:?}"
            );
        }
        let doras_own = OrderRow {
            requested_by: Some("dora".into()),
            ..for_dora.clone()
        };
        assert!(deciding_as(&carol, &doras_own, None, &holds_doras).is_err());
        assert_eq!(
            deciding_as(&carol, &order("alice"), None, &holds_doras).expect("herself"),
            Actor::person("carol"),
            "she decides as herself where she may"
        );
        assert!(reaches(Role::Director, Role::Manager));
        assert!(!reaches(Role::Manager, Role::Director));
        assert!(!reaches(Role::Requester, Role::Manager));
        assert!(may_cancel(&dana, &order("alice")).is_err());
        let mut failed = order("alice");
        failed.attention = Some("workflow failed".into());
        assert_eq!(
            attention_reason(&dana, &failed).as_deref(),
            Some("workflow failed")
        );
        assert!(!can_use_inbox(&user("alice", Role::Requester)));
    }

    #[test]
    fn only_the_requester_cancels() {
        let (alice, dave, bob) = (
            user("alice", Role::Requester),
            user("dave", Role::Requester),
            user("bob", Role::Manager),
        );
        assert!(may_cancel(&alice, &order("alice")).is_ok());
        assert!(may_cancel(&dave, &order("alice")).is_err());
        assert!(may_cancel(&bob, &order("alice")).is_err());
        assert!(may_cancel(&bob, &order("bob")).is_ok());
    }
}
