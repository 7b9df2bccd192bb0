//! Accounts, sessions and API tokens. Passwords are hashed with argon2 on the blocking
//! pool; session and API tokens are random and only their SHA-256 is stored.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use rand_core::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::db::Db;
use crate::error::ServiceError;
use domain::{demo, parse_username, Role, UserView, ValidationErrors, MIN_PASSWORD_LEN};

pub const SESSION_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// An unknown role in the database fails the read rather than demoting anyone.
    pub role: Role,
    pub created_at: i64,
}

impl User {
    pub fn is_manager(&self) -> bool {
        self.role == Role::Manager
    }

    pub fn view(&self) -> UserView {
        UserView {
            name: self.name.clone(),
            role: self.role,
        }
    }
}

/// One API token as `server token list` shows it.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub user_name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing task: {e}")))
}

pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("hashing password: {e}")))
    })
    .await?
}

async fn verify_password(hash: String, password: String) -> Result<bool, ServiceError> {
    blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

pub async fn add_user(
    db: &Db,
    name: &str,
    role: Role,
    password: &str,
) -> Result<User, ServiceError> {
    let name = parse_username(name).map_err(|m| ValidationErrors::one("name", m))?;
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ValidationErrors::one(
            "password",
            format!("Use a password of at least {MIN_PASSWORD_LEN} characters."),
        )
        .into());
    }
    let hash = hash_password(password.to_owned()).await?;
    let now = now_ms();
    let inserted = sqlx::query_as!(
        User,
        r#"INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)
         RETURNING id AS "id!", name, role AS "role: Role", created_at"#,
        name,
        role,
        hash,
        now,
    )
    .fetch_one(db)
    .await;
    match inserted {
        Ok(user) => Ok(user),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(ServiceError::conflict(
            format!("A user named {name:?} already exists."),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn list_users(db: &Db) -> Result<Vec<User>, ServiceError> {
    Ok(sqlx::query_as!(
        User,
        r#"SELECT id AS "id!", name, role AS "role: Role", created_at FROM users ORDER BY name"#
    )
    .fetch_all(db)
    .await?)
}

pub async fn remove_user(db: &Db, name: &str) -> Result<(), ServiceError> {
    let result = sqlx::query!("DELETE FROM users WHERE name = ?", name)
        .execute(db)
        .await?;
    if result.rows_affected() == 0 {
        return Err(no_such_user(name));
    }
    Ok(())
}

fn no_such_user(name: &str) -> ServiceError {
    ServiceError::NotFound(format!("No user named {name:?}."))
}

/// Creates the demo accounts, but only in a database without any account.
pub async fn ensure_demo_users(db: &Db) -> Result<bool, ServiceError> {
    let count = sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM users"#)
        .fetch_one(db)
        .await?;
    if count > 0 {
        return Ok(false);
    }
    for (name, role) in demo::USERS {
        add_user(db, name, role, demo::PASSWORD).await?;
    }
    Ok(true)
}

pub async fn demo_users_present(db: &Db) -> Result<bool, ServiceError> {
    let [(a, _), (b, _), (c, _)] = demo::USERS;
    let count = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM users WHERE name IN (?, ?, ?)"#,
        a,
        b,
        c
    )
    .fetch_one(db)
    .await?;
    Ok(count > 0)
}

/// Checks a username and password. Unknown names cost as much as wrong passwords, so
/// timing does not reveal which accounts exist.
pub async fn authenticate(
    db: &Db,
    name: &str,
    password: &str,
) -> Result<Option<User>, ServiceError> {
    let name = name.trim();
    let found = sqlx::query!(
        r#"SELECT id AS "id!", name, role AS "role: Role", created_at, password_hash FROM users WHERE name = ?"#,
        name
    )
    .fetch_optional(db)
    .await?;
    let (user, hash) = match found {
        Some(row) => (
            Some(User {
                id: row.id,
                name: row.name,
                role: row.role,
                created_at: row.created_at,
            }),
            row.password_hash,
        ),
        None => (None, dummy_hash().to_owned()),
    };
    let ok = verify_password(hash, password.to_owned()).await?;
    Ok(user.filter(|_| ok))
}

fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn create_session(db: &Db, user: &User) -> Result<String, ServiceError> {
    let token = new_token("");
    let now = now_ms();
    let (hash, expires_at) = (token_hash(&token), now + SESSION_TTL_MS);
    sqlx::query!(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        hash,
        user.id,
        now,
        expires_at,
    )
    .execute(db)
    .await?;
    // Expired sessions are swept here, where sessions are created anyway.
    sqlx::query!("DELETE FROM sessions WHERE expires_at < ?", now)
        .execute(db)
        .await?;
    Ok(token)
}

pub async fn session_user(db: &Db, token: &str) -> Result<Option<User>, ServiceError> {
    let (hash, now) = (token_hash(token), now_ms());
    Ok(sqlx::query_as!(
        User,
        r#"SELECT u.id AS "id!", u.name, u.role AS "role: Role", u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.token_hash = ? AND s.expires_at > ?"#,
        hash,
        now,
    )
    .fetch_optional(db)
    .await?)
}

pub async fn end_session(db: &Db, token: &str) -> Result<(), ServiceError> {
    let hash = token_hash(token);
    sqlx::query!("DELETE FROM sessions WHERE token_hash = ?", hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Creates an API token for `user_name`; the token itself is shown once, never stored.
pub async fn create_api_token(db: &Db, user_name: &str) -> Result<(i64, String), ServiceError> {
    let user_id = sqlx::query_scalar!(r#"SELECT id AS "id!" FROM users WHERE name = ?"#, user_name)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| no_such_user(user_name))?;
    let token = new_token("apv_");
    let (hash, now) = (token_hash(&token), now_ms());
    let id = sqlx::query_scalar!(
        r#"INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)
           RETURNING id AS "id!""#,
        hash,
        user_id,
        now,
    )
    .fetch_one(db)
    .await?;
    Ok((id, token))
}

pub async fn revoke_api_token(db: &Db, id: i64) -> Result<bool, ServiceError> {
    let now = now_ms();
    let result = sqlx::query!(
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        now,
        id
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Every token, oldest first.
pub async fn list_api_tokens(db: &Db) -> Result<Vec<ApiToken>, ServiceError> {
    Ok(sqlx::query_as!(
        ApiToken,
        r#"SELECT t.id AS "id!", u.name AS user_name, t.created_at, t.revoked_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"#
    )
    .fetch_all(db)
    .await?)
}

pub async fn token_user(db: &Db, token: &str) -> Result<Option<User>, ServiceError> {
    let hash = token_hash(token);
    Ok(sqlx::query_as!(
        User,
        r#"SELECT u.id AS "id!", u.name, u.role AS "role: Role", u.created_at FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = ? AND t.revoked_at IS NULL"#,
        hash,
    )
    .fetch_optional(db)
    .await?)
}
