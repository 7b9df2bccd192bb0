//! API tokens (`server token create/list/revoke`): a bearer credential for the API.

use super::no_such_user;
use super::secret::{new_token, token_hash, Touched, TOUCH_EVERY_MS};
use crate::kernel::clock::now_ms;
use crate::kernel::error::ServiceError;
use crate::model::people::User;
use crate::store::accounts as stored;
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
    let id = stored::insert_api_token(db, &hash, user_name, now, expires_at)
        .await?
        .ok_or_else(|| no_such_user(user_name))?;
    Ok((id, token))
}

pub async fn revoke_api_token(db: &Db, id: i64) -> Result<bool, ServiceError> {
    Ok(stored::revoke_api_token(db, id, now_ms()).await?)
}

/// Every token, oldest first.
pub async fn list_api_tokens(db: &Db) -> Result<Vec<ApiToken>, ServiceError> {
    Ok(stored::list_api_tokens(db).await?)
}

/// Who a token belongs to, while it holds (not revoked, not expired); its last use is
/// kept (to the minute) for `token list`.
pub async fn token_user(db: &Db, token: &str) -> Result<Option<User>, ServiceError> {
    let (hash, now) = (token_hash(token), now_ms());
    let found = stored::find_token(db, &hash, now).await?.map(Touched::from);
    let Some(found) = found else { return Ok(None) };
    if found.is_stale(now) {
        let stale = now - TOUCH_EVERY_MS;
        stored::touch_token(db, &hash, now, stale).await?;
    }
    Ok(Some(found.user()))
}
