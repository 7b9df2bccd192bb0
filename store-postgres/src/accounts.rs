//! People, their passwords, sessions and API tokens.

use base::model::people::{Account, ApiToken, User};
use domain::Role;
use sqlx::PgPool;

/// Inserts an account whose name and password are checked and hashed.
pub async fn insert_user(
    db: &PgPool,
    name: &str,
    role: Role,
    hash: &str,
    now: i64,
    address: Option<&str>,
) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"INSERT INTO users (name, role, password_hash, created_at, email)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, role AS "role: Role", created_at"#,
        name,
        role as _,
        hash,
        now,
        address,
    )
    .fetch_one(db)
    .await
}

pub async fn list_users(db: &PgPool) -> Result<Vec<Account>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, name, role AS "role: Role", created_at, email FROM users ORDER BY name"#,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Account {
            user: User {
                id: r.id,
                name: r.name,
                role: r.role,
                created_at: r.created_at,
            },
            email: r.email,
        })
        .collect())
}

/// The number of accounts changed (0: no such name).
pub async fn set_email(db: &PgPool, name: &str, address: Option<&str>) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!("UPDATE users SET email = $1 WHERE name = $2", address, name)
        .execute(db)
        .await?;
    Ok(result.rows_affected())
}

pub async fn email_of(db: &PgPool, name: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("SELECT email FROM users WHERE name = $1", name)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// The number of accounts removed (0: no such name).
pub async fn remove_user(db: &PgPool, name: &str) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!("DELETE FROM users WHERE name = $1", name)
        .execute(db)
        .await?;
    Ok(result.rows_affected())
}

pub async fn count_users(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!" FROM users"#)
        .fetch_one(db)
        .await
}

/// As on SQLite, the demo accounts are created only in a database without any
/// account, but in one transaction: several replicas may start together on an empty
/// database (SQLite has one server process), and each would see no account and insert
/// the demo users, the later ones failing on the unique names and refusing to start.
/// `SHARE ROW EXCLUSIVE` conflicts with itself and with every write to `users` (not
/// with reads): whoever takes it second waits, then counts the accounts the first
/// committed and leaves them be. The passwords come hashed, so the lock is held for a
/// few inserts, not for Argon2. False: someone else created accounts meanwhile.
pub async fn insert_first_users(
    db: &PgPool,
    users: &[(&str, Role, String)],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let count = sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!" FROM users"#)
        .fetch_one(&mut *tx)
        .await?;
    if count > 0 {
        // Dropping `tx` rolls back.
        return Ok(false);
    }
    for (name, role, hash) in users {
        sqlx::query!(
            "INSERT INTO users (name, role, password_hash, created_at, email)
             VALUES ($1, $2, $3, $4, NULL)",
            name,
            role as _,
            hash,
            now,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// How many of `names` have an account.
pub async fn count_named(db: &PgPool, names: [&str; 4]) -> Result<i64, sqlx::Error> {
    let [a, b, c, d] = names;
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!" FROM users WHERE name IN ($1, $2, $3, $4)"#,
        a,
        b,
        c,
        d,
    )
    .fetch_one(db)
    .await
}

/// An account and its password hash.
pub async fn credentials(db: &PgPool, name: &str) -> Result<Option<(User, String)>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT id, name, role AS "role: Role", created_at, password_hash
             FROM users WHERE name = $1"#,
        name,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|r| {
        let user = User {
            id: r.id,
            name: r.name,
            role: r.role,
            created_at: r.created_at,
        };
        (user, r.password_hash)
    }))
}

/// Records a session by its token's hash, and sweeps the expired ones (sessions are
/// created here anyway).
pub async fn insert_session(
    db: &PgPool,
    hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        hash,
        user_id,
        now,
        expires_at,
    )
    .execute(db)
    .await?;
    sqlx::query!("DELETE FROM sessions WHERE expires_at < $1", now)
        .execute(db)
        .await?;
    Ok(())
}

/// The person behind a live session, and when the session was last marked as used.
pub async fn find_session(
    db: &PgPool,
    hash: &str,
    now: i64,
    idle_since: i64,
) -> Result<Option<(User, Option<i64>)>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT u.id, u.name, u.role AS "role: Role", u.created_at,
                COALESCE(s.last_seen_at, s.created_at) AS touched_at
           FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.token_hash = $1 AND s.expires_at > $2
            AND COALESCE(s.last_seen_at, s.created_at) > $3"#,
        hash,
        now,
        idle_since,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|r| {
        let user = User {
            id: r.id,
            name: r.name,
            role: r.role,
            created_at: r.created_at,
        };
        (user, r.touched_at)
    }))
}

pub async fn touch_session(
    db: &PgPool,
    hash: &str,
    now: i64,
    stale: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sessions SET last_seen_at = $1
          WHERE token_hash = $2 AND COALESCE(last_seen_at, created_at) < $3",
        now,
        hash,
        stale,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn end_session(db: &PgPool, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM sessions WHERE token_hash = $1", hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Records an API token by its hash: one statement where SQLite takes two (find the
/// user, insert the token). `None`: no such user.
pub async fn insert_api_token(
    db: &PgPool,
    hash: &str,
    user_name: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at)
         SELECT $1, id, $2, $3 FROM users WHERE name = $4
         RETURNING id",
        hash,
        now,
        expires_at,
        user_name,
    )
    .fetch_optional(db)
    .await
}

/// Whether a token that was still valid is revoked now.
pub async fn revoke_api_token(db: &PgPool, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        now,
        id,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn list_api_tokens(db: &PgPool) -> Result<Vec<ApiToken>, sqlx::Error> {
    sqlx::query_as!(
        ApiToken,
        "SELECT t.id, u.name AS user_name, t.created_at, t.revoked_at, t.expires_at,
                t.last_used_at
           FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id",
    )
    .fetch_all(db)
    .await
}

/// The person behind a valid token, and when the token was last marked as used.
pub async fn find_token(
    db: &PgPool,
    hash: &str,
    now: i64,
) -> Result<Option<(User, Option<i64>)>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT u.id, u.name, u.role AS "role: Role", u.created_at,
                t.last_used_at AS touched_at
           FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > $2)"#,
        hash,
        now,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|r| {
        let user = User {
            id: r.id,
            name: r.name,
            role: r.role,
            created_at: r.created_at,
        };
        (user, r.touched_at)
    }))
}

pub async fn touch_token(db: &PgPool, hash: &str, now: i64, stale: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE api_tokens SET last_used_at = $1
          WHERE token_hash = $2 AND COALESCE(last_used_at, 0) < $3",
        now,
        hash,
        stale,
    )
    .execute(db)
    .await?;
    Ok(())
}
