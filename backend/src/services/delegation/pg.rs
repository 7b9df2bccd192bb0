//! The PostgreSQL dialect of [`super`]'s queries: the same statements, checked by the
//! test suite run on PostgreSQL (`APPROVALS_TEST_POSTGRES`).

use domain::Role;
use sqlx::PgPool;

use super::{Delegation, Delegator};
use crate::kernel::error::ServiceError;

pub(super) async fn role_of(db: &PgPool, name: &str) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar("SELECT role FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await
}

// No lock is needed to add one: neither dialect checks a new delegation against the
// ones already there (overlapping delegations are allowed, and `delegators` lists each
// delegator once), so two added at once cannot break anything the checks promise. The
// delegate's existence and `delegator <> delegate` are held by the schema's foreign key
// and CHECK on both databases; the delegate's role is read before the insert, as on
// SQLite, whose pool runs the two statements separately too (no single-writer
// guarantee is relied on there either).
pub(super) async fn insert(
    db: &PgPool,
    delegator: &str,
    delegate: &str,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO delegations (delegator, delegate, starts_at, ends_at, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(delegator)
    .bind(delegate)
    .bind(starts_at)
    .bind(ends_at)
    .bind(now)
    .fetch_one(db)
    .await
}

pub(super) async fn revoke(
    db: &PgPool,
    id: i64,
    by: Option<&str>,
    now: i64,
) -> Result<bool, ServiceError> {
    let done = sqlx::query(
        "UPDATE delegations SET revoked_at = $1
          WHERE id = $2 AND revoked_at IS NULL AND ends_at > $1
            AND ($3::TEXT IS NULL OR delegator = $3)",
    )
    .bind(now)
    .bind(id)
    .bind(by)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delegators(
    db: &PgPool,
    delegate: &str,
    now: i64,
) -> Result<Vec<Delegator>, ServiceError> {
    let rows: Vec<(String, Role)> = sqlx::query_as(
        "SELECT DISTINCT d.delegator, u.role
           FROM delegations d JOIN users u ON u.name = d.delegator
          WHERE d.delegate = $1 AND d.revoked_at IS NULL AND d.starts_at <= $2
            AND d.ends_at > $2
          ORDER BY d.delegator",
    )
    .bind(delegate)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, role)| role.decides_orders())
        .map(|(name, role)| Delegator { name, role })
        .collect())
}

pub(super) async fn current(
    db: &PgPool,
    name: Option<&str>,
    now: i64,
) -> Result<Vec<Delegation>, ServiceError> {
    Ok(sqlx::query_as::<_, Delegation>(
        "SELECT id, delegator, delegate, starts_at, ends_at FROM delegations
          WHERE revoked_at IS NULL AND ends_at > $1
            AND ($2::TEXT IS NULL OR delegator = $2 OR delegate = $2)
          ORDER BY starts_at, id",
    )
    .bind(now)
    .bind(name)
    .fetch_all(db)
    .await?)
}
