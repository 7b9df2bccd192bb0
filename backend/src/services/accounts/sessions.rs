//! Sessions: made at sign-in, ended at sign-out, a week at most and eight hours idle.

use domain::Role;

use super::pg;
use super::secret::{new_token, token_hash, Touched, TOUCH_EVERY_MS};
use crate::kernel::clock::now_ms;
use crate::kernel::error::ServiceError;
use crate::model::people::User;
use crate::store::db::Db;

/// A session ends a week after sign-in at the latest…
pub const SESSION_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// …and after eight hours without use.
pub const SESSION_IDLE_MS: i64 = 8 * 60 * 60 * 1000;

pub async fn create_session(db: &Db, user: &User) -> Result<String, ServiceError> {
    let token = new_token("");
    let now = now_ms();
    let (hash, expires_at) = (token_hash(&token), now + SESSION_TTL_MS);
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => {
            pg::insert_session(db, &hash, user.id, now, expires_at).await?;
            return Ok(token);
        }
    };
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

/// Who a session belongs to, while it holds (not expired, not idle too long); using it
/// keeps it from going idle.
pub async fn session_user(db: &Db, token: &str) -> Result<Option<User>, ServiceError> {
    let (hash, now) = (token_hash(token), now_ms());
    let idle_since = now - SESSION_IDLE_MS;
    let found = match db {
        Db::Sqlite(db) => {
            sqlx::query_as!(
                Touched,
                r#"SELECT u.id AS "id!", u.name, u.role AS "role: Role", u.created_at,
                  COALESCE(s.last_seen_at, s.created_at) AS "touched_at: i64"
             FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.token_hash = ? AND s.expires_at > ?
            AND COALESCE(s.last_seen_at, s.created_at) > ?"#,
                hash,
                now,
                idle_since,
            )
            .fetch_optional(db)
            .await?
        }
        Db::Postgres(db) => pg::find_session(db, &hash, now, idle_since)
            .await?
            .map(Touched::from),
    };
    let Some(found) = found else { return Ok(None) };
    if found.is_stale(now) {
        let stale = now - TOUCH_EVERY_MS;
        match db {
            Db::Sqlite(db) => {
                sqlx::query!(
                    "UPDATE sessions SET last_seen_at = ?
              WHERE token_hash = ? AND COALESCE(last_seen_at, created_at) < ?",
                    now,
                    hash,
                    stale,
                )
                .execute(db)
                .await?;
            }
            Db::Postgres(db) => pg::touch_session(db, &hash, now, stale).await?,
        }
    }
    Ok(Some(found.user()))
}

pub async fn end_session(db: &Db, token: &str) -> Result<(), ServiceError> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return Ok(pg::end_session(db, &token_hash(token)).await?),
    };
    let hash = token_hash(token);
    sqlx::query!("DELETE FROM sessions WHERE token_hash = ?", hash)
        .execute(db)
        .await?;
    Ok(())
}
