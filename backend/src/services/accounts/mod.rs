//! Accounts: the people (here), their passwords ([`passwords`]: argon2 on the blocking
//! pool, a few at a time), their sessions ([`sessions`]) and API tokens ([`tokens`]),
//! and the random secrets both of those are, of which only the SHA-256 is stored
//! ([`secret`]).

use domain::{demo, parse_username, Role, ValidationErrors, MIN_PASSWORD_LEN};

use crate::kernel::clock::now_ms;
use crate::kernel::email::Email;
use crate::kernel::error::ServiceError;
use crate::model::people::User;
use crate::store::accounts as stored;
use crate::store::db::Db;

mod passwords;
mod secret;
mod sessions;
#[cfg(test)]
pub(crate) mod tests;
mod tokens;

pub use passwords::{authenticate, authenticate_with_hash, credentials, hash_password};
pub use sessions::{create_session, end_session, session_user, SESSION_IDLE_MS, SESSION_TTL_MS};
pub use tokens::{create_api_token, list_api_tokens, revoke_api_token, token_user, ApiToken};

pub async fn add_user(
    db: &Db,
    name: &str,
    role: Role,
    password: &str,
    email: Option<&Email>,
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
    let address = email.map(Email::as_str);
    let inserted = stored::insert_user(db, &name, role, &hash, now, address).await;
    user_added(inserted, &name)
}

/// The answer to [`add_user`]'s insert: a name already taken is a conflict (the
/// `UNIQUE` constraint on `users.name` decides it on both databases, however many
/// writers race), and so is a removed account's name, which its history keeps.
fn user_added(
    inserted: Result<Option<User>, sqlx::Error>,
    name: &str,
) -> Result<User, ServiceError> {
    match inserted {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(ServiceError::conflict(format!(
            "The name {name:?} belonged to an account that was removed; its orders and \
             decisions still carry it. Choose another name."
        ))),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(ServiceError::conflict(
            format!("A user named {name:?} already exists."),
        )),
        Err(e) => Err(e.into()),
    }
}

pub use crate::model::people::Account;

pub async fn list_users(db: &Db) -> Result<Vec<Account>, ServiceError> {
    Ok(stored::list_users(db).await?)
}

/// Sets the e-mail address of user `name`, or with `None` removes it.
pub async fn set_email(db: &Db, name: &str, email: Option<&Email>) -> Result<(), ServiceError> {
    let address = email.map(Email::as_str);
    let changed = stored::set_email(db, name, address).await?;
    if changed == 0 {
        return Err(no_such_user(name));
    }
    Ok(())
}

/// The e-mail address user `name` gave, if any.
pub async fn email_of(db: &Db, name: &str) -> Result<Option<String>, ServiceError> {
    Ok(stored::email_of(db, name).await?)
}

pub async fn remove_user(db: &Db, name: &str) -> Result<(), ServiceError> {
    let removed = stored::remove_user(db, name, now_ms()).await?;
    if removed == 0 {
        return Err(no_such_user(name));
    }
    Ok(())
}

fn no_such_user(name: &str) -> ServiceError {
    ServiceError::NotFound(format!("No user named {name:?}."))
}

/// Creates the demo accounts, but only in a database without any account.
pub async fn ensure_demo_users(db: &Db) -> Result<bool, ServiceError> {
    if stored::count_users(db).await? > 0 {
        return Ok(false);
    }
    // Hashed before the accounts go in: several replicas may start together on an
    // empty database, and the store holds the others back while it inserts.
    let mut users = Vec::with_capacity(demo::USERS.len());
    for (name, role) in demo::USERS {
        users.push((name, role, hash_password(demo::PASSWORD.to_owned()).await?));
    }
    Ok(stored::insert_first_users(db, &users, now_ms()).await?)
}

pub async fn demo_users_present(db: &Db) -> Result<bool, ServiceError> {
    let [(a, _), (b, _), (c, _), (d, _)] = demo::USERS;
    Ok(stored::count_named(db, [a, b, c, d]).await? > 0)
}
