//! Accounts: the people (here), their passwords ([`passwords`]: argon2 on the blocking
//! pool, a few at a time), their sessions ([`sessions`]) and API tokens ([`tokens`]),
//! and the random secrets both of those are, of which only the SHA-256 is stored
//! ([`secret`]).

use domain::{demo, parse_username, Role, ValidationErrors, MIN_PASSWORD_LEN};

use crate::kernel::clock::now_ms;
use crate::kernel::email::Email;
use crate::kernel::error::ServiceError;
use crate::model::people::User;
use crate::store::db::Db;

mod passwords;
use store_postgres::accounts as pg;
mod secret;
mod sessions;
#[cfg(test)]
mod tests;
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
    // The checks and the hashing above are the same for both databases; only the
    // insert differs.
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => {
            let inserted = pg::insert_user(db, &name, role, &hash, now, address).await;
            return user_added(inserted, &name);
        }
    };
    let inserted = sqlx::query_as!(
        User,
        r#"INSERT INTO users (name, role, password_hash, created_at, email)
           VALUES (?, ?, ?, ?, ?)
         RETURNING id AS "id!", name, role AS "role: Role", created_at"#,
        name,
        role,
        hash,
        now,
        address,
    )
    .fetch_one(db)
    .await;
    user_added(inserted, &name)
}

/// The answer to [`add_user`]'s insert: a name already taken is a conflict (the
/// `UNIQUE` constraint on `users.name` decides it on both databases, however many
/// writers race).
fn user_added(inserted: Result<User, sqlx::Error>, name: &str) -> Result<User, ServiceError> {
    match inserted {
        Ok(user) => Ok(user),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(ServiceError::conflict(
            format!("A user named {name:?} already exists."),
        )),
        Err(e) => Err(e.into()),
    }
}

pub use crate::model::people::Account;

pub async fn list_users(db: &Db) -> Result<Vec<Account>, ServiceError> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return Ok(pg::list_users(db).await?),
    };
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", name, role AS "role: Role", created_at, email
             FROM users ORDER BY name"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Account {
            user: User {
                id: row.id,
                name: row.name,
                role: row.role,
                created_at: row.created_at,
            },
            email: row.email,
        })
        .collect())
}

/// Sets the e-mail address of user `name`, or with `None` removes it.
pub async fn set_email(db: &Db, name: &str, email: Option<&Email>) -> Result<(), ServiceError> {
    let address = email.map(Email::as_str);
    let changed = match db {
        Db::Postgres(db) => pg::set_email(db, name, address).await?,
        Db::Sqlite(db) => sqlx::query!("UPDATE users SET email = ? WHERE name = ?", address, name)
            .execute(db)
            .await?
            .rows_affected(),
    };
    if changed == 0 {
        return Err(no_such_user(name));
    }
    Ok(())
}

/// The e-mail address user `name` gave, if any.
pub async fn email_of(db: &Db, name: &str) -> Result<Option<String>, ServiceError> {
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return Ok(pg::email_of(db, name).await?),
    };
    Ok(
        sqlx::query_scalar!("SELECT email FROM users WHERE name = ?", name)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

pub async fn remove_user(db: &Db, name: &str) -> Result<(), ServiceError> {
    let removed = match db {
        Db::Postgres(db) => pg::remove_user(db, name).await?,
        Db::Sqlite(db) => sqlx::query!("DELETE FROM users WHERE name = ?", name)
            .execute(db)
            .await?
            .rows_affected(),
    };
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
    let count = match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM users"#)
                .fetch_one(pool)
                .await?
        }
        Db::Postgres(pool) => pg::count_users(pool).await?,
    };
    if count > 0 {
        return Ok(false);
    }
    if let Db::Postgres(pool) = db {
        // Several replicas may start together on an empty database: the accounts go
        // in at once under a lock, the passwords hashed before it is taken.
        let mut users = Vec::with_capacity(demo::USERS.len());
        for (name, role) in demo::USERS {
            users.push((name, role, hash_password(demo::PASSWORD.to_owned()).await?));
        }
        return Ok(pg::insert_first_users(pool, &users, now_ms()).await?);
    }
    for (name, role) in demo::USERS {
        add_user(db, name, role, demo::PASSWORD, None).await?;
    }
    Ok(true)
}

pub async fn demo_users_present(db: &Db) -> Result<bool, ServiceError> {
    let [(a, _), (b, _), (c, _), (d, _)] = demo::USERS;
    let db = match db {
        Db::Sqlite(db) => db,
        Db::Postgres(db) => return Ok(pg::count_named(db, [a, b, c, d]).await? > 0),
    };
    let count = sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM users WHERE name IN (?, ?, ?, ?)"#,
        a,
        b,
        c,
        d
    )
    .fetch_one(db)
    .await?;
    Ok(count > 0)
}
