//! Passwords: hashed with Argon2, a bounded number at a time, and checked in the same
//! time whether or not the account exists.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::kernel::error::ServiceError;
use crate::model::people::User;
use crate::store::db::Db;

/// Argon2 takes about 19 MiB and a core for a good fraction of a second: at most one
/// hash per core runs at a time, the rest wait their turn, so a burst of sign-ins can
/// neither exhaust memory nor starve everything else of the cores.
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    tokio::sync::Semaphore::new(cores)
});

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing: {e}")))?;
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

/// An account and its password hash.
pub async fn credentials(db: &Db, name: &str) -> Result<Option<(User, String)>, ServiceError> {
    Ok(crate::store::accounts::credentials(db, name).await?)
}

/// Checks a username and password. Unknown names cost as much as wrong passwords, so
/// timing does not reveal which accounts exist. Sign-ins go through
/// [`SignIn`](crate::services::sign_in::SignIn), which bounds and rate-limits these checks.
pub async fn authenticate(
    db: &Db,
    name: &str,
    password: &str,
) -> Result<Option<User>, ServiceError> {
    Ok(authenticate_with_hash(db, name, password)
        .await?
        .map(|(user, _)| user))
}

/// [`authenticate`], also giving the hash the password was checked against.
pub async fn authenticate_with_hash(
    db: &Db,
    name: &str,
    password: &str,
) -> Result<Option<(User, String)>, ServiceError> {
    let found = credentials(db, name.trim()).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |(_, hash)| hash.clone());
    let ok = verify_password(hash, password.to_owned()).await?;
    Ok(found.filter(|_| ok))
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
