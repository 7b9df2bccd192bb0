//! Sessions: made at sign-in, ended at sign-out, a week at most and eight hours idle.

use super::secret::{new_token, token_hash, Touched, TOUCH_EVERY_MS};
use crate::kernel::clock::now_ms;
use crate::kernel::error::ServiceError;
use crate::model::people::User;
use crate::store::accounts as stored;
use crate::store::db::Db;

/// A session ends a week after sign-in at the latest…
pub const SESSION_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// …and after eight hours without use.
pub const SESSION_IDLE_MS: i64 = 8 * 60 * 60 * 1000;

pub async fn create_session(db: &Db, user: &User) -> Result<String, ServiceError> {
    let token = new_token("");
    let now = now_ms();
    let (hash, expires_at) = (token_hash(&token), now + SESSION_TTL_MS);
    stored::insert_session(db, &hash, user.id, now, expires_at).await?;
    Ok(token)
}

/// Who a session belongs to, while it holds (not expired, not idle too long); using it
/// keeps it from going idle.
pub async fn session_user(db: &Db, token: &str) -> Result<Option<User>, ServiceError> {
    let (hash, now) = (token_hash(token), now_ms());
    let idle_since = now - SESSION_IDLE_MS;
    let found = stored::find_session(db, &hash, now, idle_since)
        .await?
        .map(Touched::from);
    let Some(found) = found else { return Ok(None) };
    if found.is_stale(now) {
        let stale = now - TOUCH_EVERY_MS;
        stored::touch_session(db, &hash, now, stale).await?;
    }
    Ok(Some(found.user()))
}

pub async fn end_session(db: &Db, token: &str) -> Result<(), ServiceError> {
    Ok(stored::end_session(db, &token_hash(token)).await?)
}
