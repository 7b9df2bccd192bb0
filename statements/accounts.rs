//! People, their passwords, sessions and API tokens. Secrets are stored as hashes:
//! these statements see only those.

use base::model::people::{Account, ApiToken, User};
use domain::Role;

use crate::Pool;

/// Inserts an account whose name and password are checked and hashed, unless the name
/// belonged to a removed account (`None`): the name stays with that person's history.
pub async fn insert_user(
    db: &Pool,
    name: &str,
    role: Role,
    hash: &str,
    now: i64,
    address: Option<&str>,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"INSERT INTO users (name, role, password_hash, created_at, email)
           SELECT $1, $2, $3, $4, $5
            WHERE NOT EXISTS (SELECT 1 FROM removed_names WHERE name = $1)
           RETURNING id AS "id!", name, role AS "role: Role", created_at"#,
        name,
        role as _,
        hash,
        now,
        address,
    )
    .fetch_optional(db)
    .await
}

pub async fn list_users(db: &Pool) -> Result<Vec<Account>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", name, role AS "role: Role", created_at, email
             FROM users ORDER BY name"#,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Account {
            user: User::new(r.id, r.name, r.role, r.created_at),
            email: r.email,
        })
        .collect())
}

/// The number of accounts changed (0: no such name).
pub async fn set_email(db: &Pool, name: &str, address: Option<&str>) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!("UPDATE users SET email = $1 WHERE name = $2", address, name)
        .execute(db)
        .await?;
    Ok(result.rows_affected())
}

pub async fn email_of(db: &Pool, name: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("SELECT email FROM users WHERE name = $1", name)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// The number of accounts removed (0: no such name).
/// Removes an account, and keeps its name from ever being taken again, in one
/// transaction. 0: there was no such account (and nothing is recorded).
pub async fn remove_user(db: &Pool, name: &str, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let removed = sqlx::query!("DELETE FROM users WHERE name = $1", name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed > 0 {
        sqlx::query!(
            "INSERT INTO removed_names (name, removed_at) VALUES ($1, $2)",
            name,
            now
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

pub async fn count_users(db: &Pool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM users"#)
        .fetch_one(db)
        .await
}

/// Creates the first accounts (the passwords come hashed), in one transaction, unless
/// someone created accounts meanwhile (false). Several replicas may start together on
/// an empty PostgreSQL database: each would see no account and insert the demo users,
/// the later ones failing on the unique names and refusing to start. So the table is
/// locked first where the database needs it (`crate::dialect::accounts::lock_users`):
/// whoever takes the lock second waits, then counts what the first committed and
/// leaves it be. The hashing is done before, so the lock is held for a few inserts.
pub async fn insert_first_users(
    db: &Pool,
    users: &[(&str, Role, String)],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    crate::dialect::accounts::lock_users(&mut tx).await?;
    let count = sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM users"#)
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
pub async fn count_named(db: &Pool, names: [&str; 4]) -> Result<i64, sqlx::Error> {
    let [a, b, c, d] = names;
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM users WHERE name IN ($1, $2, $3, $4)"#,
        a,
        b,
        c,
        d,
    )
    .fetch_one(db)
    .await
}

/// An account and its password hash.
pub async fn credentials(db: &Pool, name: &str) -> Result<Option<(User, String)>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT id AS "id!", name, role AS "role: Role", created_at, password_hash
             FROM users WHERE name = $1"#,
        name,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|r| {
        (
            User::new(r.id, r.name, r.role, r.created_at),
            r.password_hash,
        )
    }))
}

/// Records a session by its token's hash, and sweeps the expired ones (sessions are
/// created here anyway).
pub async fn insert_session(
    db: &Pool,
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

/// The person behind a session that holds at `now` (not expired, used since
/// `idle_since`), and when it was last marked as used.
pub async fn find_session(
    db: &Pool,
    hash: &str,
    now: i64,
    idle_since: i64,
) -> Result<Option<(User, Option<i64>)>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT u.id AS "id!", u.name, u.role AS "role: Role", u.created_at,
                  COALESCE(s.last_seen_at, s.created_at) AS "touched_at: i64"
             FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $1 AND s.expires_at > $2
              AND COALESCE(s.last_seen_at, s.created_at) > $3"#,
        hash,
        now,
        idle_since,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|r| (User::new(r.id, r.name, r.role, r.created_at), r.touched_at)))
}

/// Marks a session as used at `now`, unless it was since `stale`.
pub async fn touch_session(db: &Pool, hash: &str, now: i64, stale: i64) -> Result<(), sqlx::Error> {
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

pub async fn end_session(db: &Pool, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM sessions WHERE token_hash = $1", hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Records an API token of `user_name` by its hash; its id, or `None`: no such user.
pub async fn insert_api_token(
    db: &Pool,
    hash: &str,
    user_name: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at)
           SELECT $1, id, $2, $3 FROM users WHERE name = $4
           RETURNING id AS "id!""#,
        hash,
        now,
        expires_at,
        user_name,
    )
    .fetch_optional(db)
    .await
}

/// Whether a token that was still valid is revoked now.
pub async fn revoke_api_token(db: &Pool, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        now,
        id,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn list_api_tokens(db: &Pool) -> Result<Vec<ApiToken>, sqlx::Error> {
    sqlx::query_as!(
        ApiToken,
        r#"SELECT t.id AS "id!", u.name AS user_name, t.created_at, t.revoked_at, t.expires_at,
                  t.last_used_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"#,
    )
    .fetch_all(db)
    .await
}

/// The person behind a token valid at `now`, and when it was last marked as used.
pub async fn find_token(
    db: &Pool,
    hash: &str,
    now: i64,
) -> Result<Option<(User, Option<i64>)>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT u.id AS "id!", u.name, u.role AS "role: Role", u.created_at,
                  t.last_used_at AS "touched_at: i64"
             FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = $1 AND t.revoked_at IS NULL
              AND (t.expires_at IS NULL OR t.expires_at > $2)"#,
        hash,
        now,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|r| (User::new(r.id, r.name, r.role, r.created_at), r.touched_at)))
}

/// Marks a token as used at `now`, unless it was since `stale`.
pub async fn touch_token(db: &Pool, hash: &str, now: i64, stale: i64) -> Result<(), sqlx::Error> {
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
