//! Delegations: who decides for whom, and when.

use base::model::people::{Delegation, Delegator};
use domain::Role;

use crate::Pool;

/// The role of account `name`, if there is one.
pub async fn role_of(db: &Pool, name: &str) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT role AS "role: Role" FROM users WHERE name = $1"#,
        name
    )
    .fetch_optional(db)
    .await
}

/// Records a delegation whose delegate was checked; its id. No lock is needed: no
/// delegation is checked against the ones already there (overlapping delegations are
/// allowed, and `delegators` lists each delegator once), and the delegate's existence
/// and `delegator <> delegate` are held by the schema's foreign key and CHECK.
pub async fn insert(
    db: &Pool,
    delegator: &str,
    delegate: &str,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO delegations (delegator, delegate, starts_at, ends_at, created_at)
           VALUES ($1, $2, $3, $4, $5) RETURNING id AS "id!""#,
        delegator,
        delegate,
        starts_at,
        ends_at,
        now,
    )
    .fetch_one(db)
    .await
}

/// Whether a delegation still running was revoked (with `by`: only one of theirs).
pub async fn revoke(db: &Pool, id: i64, by: Option<&str>, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE delegations SET revoked_at = $1
          WHERE id = $2 AND revoked_at IS NULL AND ends_at > $1
            AND (delegator = $3 OR $3 IS NULL)",
        now,
        id,
        by,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Whose decisions `delegate` may take at `now`, each once, with their role.
pub async fn delegators(
    db: &Pool,
    delegate: &str,
    now: i64,
) -> Result<Vec<Delegator>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT d.delegator, u.role AS "role: Role"
             FROM delegations d JOIN users u ON u.name = d.delegator
            WHERE d.delegate = $1 AND d.revoked_at IS NULL AND d.starts_at <= $2
              AND d.ends_at > $2
            ORDER BY d.delegator"#,
        delegate,
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

/// The delegations not yet over at `now` (with `name`: those they give or hold).
pub async fn current(
    db: &Pool,
    name: Option<&str>,
    now: i64,
) -> Result<Vec<Delegation>, sqlx::Error> {
    sqlx::query_as!(
        Delegation,
        r#"SELECT id AS "id!", delegator, delegate, starts_at, ends_at FROM delegations
            WHERE revoked_at IS NULL AND ends_at > $1
              AND (delegator = $2 OR delegate = $2 OR $2 IS NULL)
            ORDER BY starts_at, id"#,
        now,
        name,
    )
    .fetch_all(db)
    .await
}
