//! Delegations: who decides for whom, and when.

use base::model::people::{Delegation, Delegator};
use domain::Role;
use sqlx::PgPool;

pub async fn role_of(db: &PgPool, name: &str) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT role AS "role: Role" FROM users WHERE name = $1"#,
        name
    )
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
pub async fn insert(
    db: &PgPool,
    delegator: &str,
    delegate: &str,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO delegations (delegator, delegate, starts_at, ends_at, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        delegator,
        delegate,
        starts_at,
        ends_at,
        now,
    )
    .fetch_one(db)
    .await
}

/// Whether a delegation was revoked (`by`: only one of theirs).
pub async fn revoke(db: &PgPool, id: i64, by: Option<&str>, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE delegations SET revoked_at = $1
          WHERE id = $2 AND revoked_at IS NULL AND ends_at > $1
            AND ($3::TEXT IS NULL OR delegator = $3)",
        now,
        id,
        by,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delegators(
    db: &PgPool,
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

pub async fn current(
    db: &PgPool,
    name: Option<&str>,
    now: i64,
) -> Result<Vec<Delegation>, sqlx::Error> {
    sqlx::query_as!(
        Delegation,
        "SELECT id, delegator, delegate, starts_at, ends_at FROM delegations
          WHERE revoked_at IS NULL AND ends_at > $1
            AND ($2::TEXT IS NULL OR delegator = $2 OR delegate = $2)
          ORDER BY starts_at, id",
        now,
        name,
    )
    .fetch_all(db)
    .await
}
