//! Delegation (issue 13 §4): a manager or director who is away hands their decisions to
//! another for a period. The delegate sees the orders the delegator could decide in
//! their inbox and decides them for them; the record says so ("Approved by carol for
//! dora"). Delegations do not chain: a delegate acts with the delegator's own role,
//! never with what was delegated to the delegator.

pub use crate::model::people::Delegation;
use crate::model::people::{Delegator, User};
use domain::{Role, ValidationErrors};

use crate::kernel::error::ServiceError;
use crate::store::db::Db;

use crate::store::delegation as stored;

/// The longest a delegation may run.
pub const MAX_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// `delegator` hands their decisions to `delegate` from `starts_at` until `ends_at`.
pub async fn add(
    db: &Db,
    delegator: &User,
    delegate: &str,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Result<Delegation, ServiceError> {
    crate::rules::policy::may_delegate(delegator)?;
    let delegate = delegate.trim();
    let role = stored::role_of(db, delegate).await?;
    check(delegator, delegate, role, starts_at, ends_at, now)?;
    let id = stored::insert(db, &delegator.name, delegate, starts_at, ends_at, now).await?;
    Ok(Delegation {
        id,
        delegator: delegator.name.clone(),
        delegate: delegate.to_owned(),
        starts_at,
        ends_at,
    })
}

/// Refusing a delegation to oneself (the other refusals of the delegate name them).
pub const NOT_YOURSELF: &str = "Choose someone other than yourself.";

/// Why `delegator` may not hand their decisions to `delegate` (whose role is `role`,
/// `None` when there is no such account) from `starts_at` until `ends_at`, if they may
/// not: the same checks on either database.
fn check(
    delegator: &User,
    delegate: &str,
    role: Option<Role>,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Result<(), ServiceError> {
    let mut errors = ValidationErrors::default();
    if delegate == delegator.name {
        errors.push("delegate", NOT_YOURSELF);
    } else {
        match role {
            None => errors.push("delegate", format!("There is no account {delegate:?}.")),
            Some(role) if !role.decides_orders() => errors.push(
                "delegate",
                format!("{delegate} is a requester; choose a manager or director."),
            ),
            Some(_) => {}
        }
    }
    if ends_at <= now.max(starts_at) {
        errors.push("until", "Choose an end after the start, and in the future.");
    } else if ends_at - starts_at > MAX_DAYS * DAY_MS {
        errors.push(
            "until",
            format!("A delegation runs {MAX_DAYS} days at most."),
        );
    }
    if !errors.0.is_empty() {
        return Err(errors.into());
    }
    Ok(())
}

/// Ends delegation `id` now, if `by` gave it (`None`: anyone's, for the CLI). False when
/// there is no such delegation still running.
pub async fn revoke(db: &Db, id: i64, by: Option<&str>, now: i64) -> Result<bool, ServiceError> {
    Ok(stored::revoke(db, id, by, now).await?)
}

pub async fn delegators(db: &Db, delegate: &str, now: i64) -> Result<Vec<Delegator>, ServiceError> {
    Ok(stored::delegators(db, delegate, now).await?)
}

pub async fn current(
    db: &Db,
    name: Option<&str>,
    now: i64,
) -> Result<Vec<Delegation>, ServiceError> {
    Ok(stored::current(db, name, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::accounts;

    const HOUR: i64 = 3_600_000;

    #[tokio::test]
    async fn a_delegation_runs_from_its_start_until_it_ends_or_is_revoked() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        let mut users = Vec::new();
        for (name, role) in [
            ("alice", Role::Requester),
            ("carol", Role::Manager),
            ("dora", Role::Director),
            ("erin", Role::Manager),
        ] {
            let user = accounts::add_user(&db, name, role, "a-long-password", None)
                .await
                .expect("a user");
            users.push(user);
        }
        let (alice, dora, erin) = (&users[0], &users[2], &users[3]);
        let now = 10 * HOUR;

        // What is refused, and why.
        let refused = |r: Result<Delegation, ServiceError>| match r {
            Err(ServiceError::Invalid(e)) => e.0.into_iter().map(|e| e.field).collect(),
            other => panic!("refused, not {other:?}"),
        };
        let fields: Vec<String> = refused(add(&db, dora, " dora ", now, now + HOUR, now).await);
        assert_eq!(fields, ["delegate"], "not to oneself");
        let fields: Vec<String> = refused(add(&db, dora, "alice", now, now + HOUR, now).await);
        assert_eq!(fields, ["delegate"], "not to a requester");
        let fields: Vec<String> = refused(add(&db, dora, "zed", now, now - 1, now).await);
        assert_eq!(
            fields,
            ["delegate", "until"],
            "nobody, and ends before it starts"
        );
        let fields: Vec<String> = refused(
            add(
                &db,
                dora,
                "carol",
                now,
                now + (MAX_DAYS * 24 + 1) * HOUR,
                now,
            )
            .await,
        );
        assert_eq!(fields, ["until"], "too long");
        assert!(matches!(
            add(&db, alice, "carol", now, now + HOUR, now).await,
            Err(ServiceError::Forbidden(_))
        ));

        // Dora hands hers to carol from now, erin to carol from later.
        let from_dora = add(&db, dora, " carol", now, now + 2 * HOUR, now)
            .await
            .expect("delegates");
        assert_eq!(from_dora.delegate, "carol");
        let from_erin = add(&db, erin, "carol", now + HOUR, now + 3 * HOUR, now)
            .await
            .expect("delegates");
        assert_ne!(from_dora.id, from_erin.id);
        // A second, overlapping one from dora is allowed; carol sees dora once.
        add(&db, dora, "carol", now, now + HOUR, now)
            .await
            .expect("delegates again");

        let names = |d: Vec<Delegator>| d.into_iter().map(|d| (d.name, d.role)).collect::<Vec<_>>();
        assert_eq!(
            names(delegators(&db, "carol", now).await.expect("reads")),
            [("dora".to_owned(), Role::Director)]
        );
        assert_eq!(
            names(delegators(&db, "carol", now + HOUR).await.expect("reads")),
            [
                ("dora".to_owned(), Role::Director),
                ("erin".to_owned(), Role::Manager)
            ]
        );
        assert!(delegators(&db, "carol", now + 3 * HOUR)
            .await
            .expect("reads")
            .is_empty());
        assert!(delegators(&db, "dora", now)
            .await
            .expect("reads")
            .is_empty());

        let all = current(&db, None, now).await.expect("reads");
        assert_eq!(all.len(), 3);
        assert_eq!(all[0], from_dora);
        assert_eq!(all[2], from_erin, "by start");
        assert_eq!(
            current(&db, Some("erin"), now).await.expect("reads"),
            std::slice::from_ref(&from_erin)
        );
        assert_eq!(
            current(&db, Some("carol"), now).await.expect("reads").len(),
            3
        );
        assert!(current(&db, Some("alice"), now)
            .await
            .expect("reads")
            .is_empty());

        // Only its delegator (or anyone, for the CLI) revokes it, once.
        assert!(!revoke(&db, from_erin.id, Some("dora"), now)
            .await
            .expect("revokes"));
        assert!(revoke(&db, from_erin.id, Some("erin"), now)
            .await
            .expect("revokes"));
        assert!(!revoke(&db, from_erin.id, Some("erin"), now)
            .await
            .expect("revokes"));
        assert!(revoke(&db, from_dora.id, None, now).await.expect("revokes"));
        assert!(!revoke(&db, -1, None, now).await.expect("revokes"));
        assert_eq!(
            current(&db, Some("carol"), now).await.expect("reads").len(),
            1
        );
        assert_eq!(
            names(delegators(&db, "carol", now).await.expect("reads")),
            [("dora".to_owned(), Role::Director)],
            "dora's other one still runs"
        );
    }
}
