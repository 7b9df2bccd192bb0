//! Who may be e-mailed about an order waiting for a decision.

use base::model::people::User;
use domain::Role;

use crate::Pool;

/// Deciders with an e-mail address, and that address.
pub async fn people(db: &Pool) -> Result<Vec<(User, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", name, role AS "role: Role", created_at, email AS "email!"
             FROM users
            WHERE email IS NOT NULL AND role IN ('manager', 'director')
            ORDER BY name"#,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (User::new(r.id, r.name, r.role, r.created_at), r.email))
        .collect())
}

/// The delegations in force at `now`: delegate, delegator and the delegator's role.
pub async fn held(db: &Pool, now: i64) -> Result<Vec<(String, String, Role)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT d.delegate, d.delegator, u.role AS "role: Role"
             FROM delegations d JOIN users u ON u.name = d.delegator
            WHERE d.revoked_at IS NULL AND d.starts_at <= $1 AND d.ends_at > $1
            ORDER BY d.delegate, d.delegator"#,
        now,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.delegate, r.delegator, r.role))
        .collect())
}
