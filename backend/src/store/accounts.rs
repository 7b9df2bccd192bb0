//! People, their passwords, sessions and API tokens, as stored: secrets only as their
//! hashes. The rules (names, passwords, what a session allows) are
//! `services::accounts`'.

use domain::Role;

use crate::model::people::{Account, ApiToken, User};

on_either_database!(accounts {
    /// Inserts an account whose name and password are checked and hashed (a name
    /// taken is a unique violation; `None`: a removed account's name).
    fn insert_user(
        name: &str,
        role: Role,
        hash: &str,
        now: i64,
        address: Option<&str>,
    ) -> Result<Option<User>, sqlx::Error>;
    fn list_users() -> Result<Vec<Account>, sqlx::Error>;
    /// The number of accounts changed (0: no such name).
    fn set_email(name: &str, address: Option<&str>) -> Result<u64, sqlx::Error>;
    fn email_of(name: &str) -> Result<Option<String>, sqlx::Error>;
    /// The number of accounts removed (0: no such name); a removed name is kept from
    /// new accounts.
    fn remove_user(name: &str, now: i64) -> Result<u64, sqlx::Error>;
    fn count_users() -> Result<i64, sqlx::Error>;
    /// Creates the first accounts, unless someone created accounts meanwhile (false);
    /// several replicas may try at once.
    fn insert_first_users(users: &[(&str, Role, String)], now: i64) -> Result<bool, sqlx::Error>;
    /// How many of `names` have an account.
    fn count_named(names: [&str; 4]) -> Result<i64, sqlx::Error>;
    /// An account and its password hash.
    fn credentials(name: &str) -> Result<Option<(User, String)>, sqlx::Error>;
    /// Records a session by its token's hash, and sweeps the expired ones.
    fn insert_session(
        hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error>;
    /// The person behind a session that holds at `now` (not expired, used since
    /// `idle_since`), and when it was last marked as used.
    fn find_session(
        hash: &str,
        now: i64,
        idle_since: i64,
    ) -> Result<Option<(User, Option<i64>)>, sqlx::Error>;
    /// Marks a session as used at `now`, unless it was since `stale`.
    fn touch_session(hash: &str, now: i64, stale: i64) -> Result<(), sqlx::Error>;
    fn end_session(hash: &str) -> Result<(), sqlx::Error>;
    /// Records an API token of `user_name` by its hash; its id (`None`: no such user).
    fn insert_api_token(
        hash: &str,
        user_name: &str,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<Option<i64>, sqlx::Error>;
    /// Whether a token that was still valid is revoked now.
    fn revoke_api_token(id: i64, now: i64) -> Result<bool, sqlx::Error>;
    fn list_api_tokens() -> Result<Vec<ApiToken>, sqlx::Error>;
    /// The person behind a token valid at `now`, and when it was last marked as used.
    fn find_token(hash: &str, now: i64) -> Result<Option<(User, Option<i64>)>, sqlx::Error>;
    /// Marks a token as used at `now`, unless it was since `stale`.
    fn touch_token(hash: &str, now: i64, stale: i64) -> Result<(), sqlx::Error>;
});
