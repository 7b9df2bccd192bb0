//! The PostgreSQL dialect of [`super`]'s queries: the same statements, checked by the
//! test suite run on PostgreSQL (`APPROVALS_TEST_POSTGRES`).

use domain::{demo, Role};
use sqlx::PgPool;

use super::secret::{token_hash, Touched};
use super::{hash_password, no_such_user, Account, ApiToken, User};
use crate::kernel::clock::now_ms;
use crate::kernel::error::ServiceError;

/// [`super::add_user`]'s insert, once the name and password are checked and hashed.
pub(super) async fn insert_user(
    db: &PgPool,
    name: &str,
    role: Role,
    hash: &str,
    now: i64,
    address: Option<&str>,
) -> Result<User, sqlx::Error> {
    sqlx::query_as::<_, User>(
        "INSERT INTO users (name, role, password_hash, created_at, email)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, role, created_at",
    )
    .bind(name)
    .bind(role)
    .bind(hash)
    .bind(now)
    .bind(address)
    .fetch_one(db)
    .await
}

pub(super) async fn list_users(db: &PgPool) -> Result<Vec<Account>, ServiceError> {
    let rows = sqlx::query_as::<_, (i64, String, Role, i64, Option<String>)>(
        "SELECT id, name, role, created_at, email FROM users ORDER BY name",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, role, created_at, email)| Account {
            user: User {
                id,
                name,
                role,
                created_at,
            },
            email,
        })
        .collect())
}

pub(super) async fn set_email(
    db: &PgPool,
    name: &str,
    address: Option<&str>,
) -> Result<(), ServiceError> {
    let result = sqlx::query("UPDATE users SET email = $1 WHERE name = $2")
        .bind(address)
        .bind(name)
        .execute(db)
        .await?;
    if result.rows_affected() == 0 {
        return Err(no_such_user(name));
    }
    Ok(())
}

pub(super) async fn email_of(db: &PgPool, name: &str) -> Result<Option<String>, ServiceError> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT email FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

pub(super) async fn remove_user(db: &PgPool, name: &str) -> Result<(), ServiceError> {
    let result = sqlx::query("DELETE FROM users WHERE name = $1")
        .bind(name)
        .execute(db)
        .await?;
    if result.rows_affected() == 0 {
        return Err(no_such_user(name));
    }
    Ok(())
}

/// As on SQLite, the demo accounts are created only in a database without any
/// account, but in one transaction: several replicas may start together on an empty
/// database (SQLite has one server process), and each would see no account and insert
/// the demo users, the later ones failing on the unique names and refusing to start.
/// `SHARE ROW EXCLUSIVE` conflicts with itself and with every write to `users` (not
/// with reads): whoever takes it second waits, then counts the accounts the first
/// committed and leaves them be. The passwords are hashed before the lock is taken,
/// so it is held for a few inserts, not for Argon2.
pub(super) async fn ensure_demo_users(db: &PgPool) -> Result<bool, ServiceError> {
    let count = || sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users");
    if count().fetch_one(db).await? > 0 {
        return Ok(false);
    }
    let mut users = Vec::with_capacity(demo::USERS.len());
    for (name, role) in demo::USERS {
        users.push((name, role, hash_password(demo::PASSWORD.to_owned()).await?));
    }
    let mut tx = db.begin().await?;
    sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    if count().fetch_one(&mut *tx).await? > 0 {
        // Another replica created them meanwhile; dropping `tx` rolls back.
        return Ok(false);
    }
    let now = now_ms();
    for (name, role, hash) in users {
        sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at, email)
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(name)
        .bind(role)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn demo_users_present(db: &PgPool) -> Result<bool, ServiceError> {
    let [(a, _), (b, _), (c, _), (d, _)] = demo::USERS;
    let count =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE name IN ($1, $2, $3, $4)")
            .bind(a)
            .bind(b)
            .bind(c)
            .bind(d)
            .fetch_one(db)
            .await?;
    Ok(count > 0)
}

pub(super) async fn credentials(
    db: &PgPool,
    name: &str,
) -> Result<Option<(User, String)>, ServiceError> {
    let found = sqlx::query_as::<_, (i64, String, Role, i64, String)>(
        "SELECT id, name, role, created_at, password_hash FROM users WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(db)
    .await?;
    Ok(found.map(|(id, name, role, created_at, password_hash)| {
        let user = User {
            id,
            name,
            role,
            created_at,
        };
        (user, password_hash)
    }))
}

/// [`super::create_session`]'s statements, for a token already made.
pub(super) async fn insert_session(
    db: &PgPool,
    hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    // Expired sessions are swept here, where sessions are created anyway.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

pub(super) async fn find_session(
    db: &PgPool,
    hash: &str,
    now: i64,
    idle_since: i64,
) -> Result<Option<Touched>, sqlx::Error> {
    sqlx::query_as::<_, Touched>(
        "SELECT u.id, u.name, u.role, u.created_at,
                COALESCE(s.last_seen_at, s.created_at) AS touched_at
           FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.token_hash = $1 AND s.expires_at > $2
            AND COALESCE(s.last_seen_at, s.created_at) > $3",
    )
    .bind(hash)
    .bind(now)
    .bind(idle_since)
    .fetch_optional(db)
    .await
}

pub(super) async fn touch_session(
    db: &PgPool,
    hash: &str,
    now: i64,
    stale: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET last_seen_at = $1
          WHERE token_hash = $2 AND COALESCE(last_seen_at, created_at) < $3",
    )
    .bind(now)
    .bind(hash)
    .bind(stale)
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn end_session(db: &PgPool, token: &str) -> Result<(), ServiceError> {
    let hash = token_hash(token);
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// [`super::create_api_token`]'s insert, for a token already made: one statement
/// where SQLite takes two (find the user, insert the token). `None`: no such user.
pub(super) async fn insert_api_token(
    db: &PgPool,
    hash: &str,
    user_name: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at)
         SELECT $1, id, $2, $3 FROM users WHERE name = $4
         RETURNING id",
    )
    .bind(hash)
    .bind(now)
    .bind(expires_at)
    .bind(user_name)
    .fetch_optional(db)
    .await
}

pub(super) async fn revoke_api_token(db: &PgPool, id: i64) -> Result<bool, ServiceError> {
    let now = now_ms();
    let result =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(db)
            .await?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn list_api_tokens(db: &PgPool) -> Result<Vec<ApiToken>, ServiceError> {
    Ok(sqlx::query_as::<_, ApiToken>(
        "SELECT t.id, u.name AS user_name, t.created_at, t.revoked_at, t.expires_at,
                t.last_used_at
           FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id",
    )
    .fetch_all(db)
    .await?)
}

pub(super) async fn find_token(
    db: &PgPool,
    hash: &str,
    now: i64,
) -> Result<Option<Touched>, sqlx::Error> {
    sqlx::query_as::<_, Touched>(
        "SELECT u.id, u.name, u.role, u.created_at, t.last_used_at AS touched_at
           FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > $2)",
    )
    .bind(hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

pub(super) async fn touch_token(
    db: &PgPool,
    hash: &str,
    now: i64,
    stale: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1
          WHERE token_hash = $2 AND COALESCE(last_used_at, 0) < $3",
    )
    .bind(now)
    .bind(hash)
    .bind(stale)
    .execute(db)
    .await?;
    Ok(())
}
