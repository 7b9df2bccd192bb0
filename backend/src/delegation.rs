//! Delegation (issue 13 §4): a manager or director who is away hands their decisions to
//! another for a period. The delegate sees the orders the delegator could decide in
//! their inbox and decides them for them; the record says so ("Approved by carol for
//! dora"). Delegations do not chain: a delegate acts with the delegator's own role,
//! never with what was delegated to the delegator.

use domain::{Role, ValidationErrors};

use crate::accounts::User;
use crate::db::Db;
use crate::error::ServiceError;

/// The longest a delegation may run.
pub const MAX_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// Between the delegate's and the delegator's name in a decision's record.
pub const ON_BEHALF: &str = " for ";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub id: i64,
    pub delegator: String,
    pub delegate: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// Someone whose decisions `delegate` may take now, with their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegator {
    pub name: String,
    pub role: Role,
}

/// The people a decision was taken by, in a record such as `carol for dora`.
pub fn people(record: &str) -> impl Iterator<Item = &str> {
    record.split(ON_BEHALF)
}

/// `delegator` hands their decisions to `delegate` from `starts_at` until `ends_at`.
pub async fn add(
    db: &Db,
    delegator: &User,
    delegate: &str,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Result<Delegation, ServiceError> {
    crate::policy::may_delegate(delegator)?;
    let delegate = delegate.trim();
    let mut errors = ValidationErrors::default();
    let role: Option<Role> = sqlx::query_scalar!(
        r#"SELECT role AS "role: Role" FROM users WHERE name = ?"#,
        delegate
    )
    .fetch_optional(db)
    .await?;
    if delegate == delegator.name {
        errors.push("delegate", "Choose someone other than yourself.");
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
    let id = sqlx::query_scalar!(
        r#"INSERT INTO delegations (delegator, delegate, starts_at, ends_at, created_at)
           VALUES (?, ?, ?, ?, ?) RETURNING id AS "id!""#,
        delegator.name,
        delegate,
        starts_at,
        ends_at,
        now,
    )
    .fetch_one(db)
    .await?;
    Ok(Delegation {
        id,
        delegator: delegator.name.clone(),
        delegate: delegate.to_owned(),
        starts_at,
        ends_at,
    })
}

/// Ends delegation `id` now, if `by` gave it (`None`: anyone's, for the CLI). False when
/// there is no such delegation still running.
pub async fn revoke(db: &Db, id: i64, by: Option<&str>, now: i64) -> Result<bool, ServiceError> {
    let done = sqlx::query!(
        "UPDATE delegations SET revoked_at = ?
          WHERE id = ? AND revoked_at IS NULL AND ends_at > ? AND (? IS NULL OR delegator = ?)",
        now,
        id,
        now,
        by,
        by,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Whose decisions `delegate` may take at `now`: only direct delegations, from people
/// who still decide orders.
pub async fn delegators(db: &Db, delegate: &str, now: i64) -> Result<Vec<Delegator>, ServiceError> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT d.delegator, u.role AS "role: Role"
             FROM delegations d JOIN users u ON u.name = d.delegator
            WHERE d.delegate = ? AND d.revoked_at IS NULL AND d.starts_at <= ? AND d.ends_at > ?
            ORDER BY d.delegator"#,
        delegate,
        now,
        now,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.role.decides_orders())
        .map(|r| Delegator {
            name: r.delegator,
            role: r.role,
        })
        .collect())
}

/// The delegations `name` gave or received that have not ended (`None`: everyone's).
pub async fn current(
    db: &Db,
    name: Option<&str>,
    now: i64,
) -> Result<Vec<Delegation>, ServiceError> {
    Ok(sqlx::query_as!(
        Delegation,
        r#"SELECT id AS "id!", delegator, delegate, starts_at, ends_at FROM delegations
            WHERE revoked_at IS NULL AND ends_at > ?
              AND (? IS NULL OR delegator = ? OR delegate = ?)
            ORDER BY starts_at, id"#,
        now,
        name,
        name,
        name,
    )
    .fetch_all(db)
    .await?)
}
