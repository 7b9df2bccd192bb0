//! The PostgreSQL dialect of [`super`]'s statements.

use domain::Role;
use sqlx::PgPool;

use crate::model::people::User;

pub(super) async fn people(db: &PgPool) -> Result<Vec<(User, String)>, sqlx::Error> {
    let rows: Vec<(i64, String, Role, i64, String)> = sqlx::query_as(
        "SELECT id, name, role, created_at, email
           FROM users
          WHERE email IS NOT NULL AND role IN ('manager', 'director')
          ORDER BY name",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, role, created_at, email)| {
            let user = User {
                id,
                name,
                role,
                created_at,
            };
            (user, email)
        })
        .collect())
}

pub(super) async fn held(
    db: &PgPool,
    now: i64,
) -> Result<Vec<(String, String, Role)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.delegate, d.delegator, u.role
           FROM delegations d JOIN users u ON u.name = d.delegator
          WHERE d.revoked_at IS NULL AND d.starts_at <= $1 AND d.ends_at > $1
          ORDER BY d.delegate, d.delegator",
    )
    .bind(now)
    .fetch_all(db)
    .await
}
