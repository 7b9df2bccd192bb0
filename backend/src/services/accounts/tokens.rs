//! API tokens (`server token create/list/revoke`): a bearer credential for the API.

use domain::Role;

use super::secret::{new_token, token_hash, Touched, TOUCH_EVERY_MS};
use super::{no_such_user, pg};
use crate::kernel::clock::now_ms;
use crate::kernel::error::ServiceError;
use crate::model::people::User;
use crate::store::db::Db;

pub use crate::model::people::ApiToken;

/// Creates an API token for `user_name`, valid for `valid_for` (forever when `None`);
/// the token itself is shown once, never stored.
pub async fn create_api_token(
    db: &Db,
    user_name: &str,
    valid_for: Option<std::time::Duration>,
) -> Result<(i64, String), ServiceError> {
    let token = new_token("apv_");
    let (hash, now) = (token_hash(&token), now_ms());
    let expires_at =
        valid_for.map(|d| now.saturating_add(d.as_millis().min(i64::MAX as u128) as i64));
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => {
            let id = pg::insert_api_token(db, &hash, user_name, now, expires_at)
                .await?
                .ok_or_else(|| no_such_user(user_name))?;
            return Ok((id, token));
        }
    };
    let user_id = sqlx::query_scalar!(r#"SELECT id AS "id!" FROM users WHERE name = ?"#, user_name)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| no_such_user(user_name))?;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)
           RETURNING id AS "id!""#,
        hash,
        user_id,
        now,
        expires_at,
    )
    .fetch_one(db)
    .await?;
    Ok((id, token))
}

pub async fn revoke_api_token(db: &Db, id: i64) -> Result<bool, ServiceError> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return Ok(pg::revoke_api_token(db, id, now_ms()).await?),
    };
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
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return Ok(pg::list_api_tokens(db).await?),
    };
    Ok(sqlx::query_as!(
        ApiToken,
        r#"SELECT t.id AS "id!", u.name AS user_name, t.created_at, t.revoked_at, t.expires_at,
                  t.last_used_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id"#
    )
    .fetch_all(db)
    .await?)
}

/// Who a token belongs to, while it holds (not revoked, not expired); its last use is
/// kept (to the minute) for `token list`.
pub async fn token_user(db: &Db, token: &str) -> Result<Option<User>, ServiceError> {
    let (hash, now) = (token_hash(token), now_ms());
    let found = match db {
        Db::Sqlite(db) => {
            sqlx::query_as!(
                Touched,
                r#"SELECT u.id AS "id!", u.name, u.role AS "role: Role", u.created_at,
                  t.last_used_at AS "touched_at: i64"
             FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = ? AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > ?)"#,
                hash,
                now,
            )
            .fetch_optional(db)
            .await?
        }
        Db::Postgres(db) => pg::find_token(db, &hash, now).await?.map(Touched::from),
    };
    let Some(found) = found else { return Ok(None) };
    if found.is_stale(now) {
        let stale = now - TOUCH_EVERY_MS;
        match db {
            Db::Sqlite(db) => {
                sqlx::query!(
                    "UPDATE api_tokens SET last_used_at = ?
              WHERE token_hash = ? AND COALESCE(last_used_at, 0) < ?",
                    now,
                    hash,
                    stale,
                )
                .execute(db)
                .await?;
            }
            Db::Postgres(db) => pg::touch_token(db, &hash, now, stale).await?,
        }
    }
    Ok(Some(found.user()))
}
