//! Delegations as stored; what a delegation may be is `services::delegation`'s.

use domain::Role;

use crate::model::people::{Delegation, Delegator};

on_either_database!(delegation {
    /// The role of account `name`, if there is one.
    fn role_of(name: &str) -> Result<Option<Role>, sqlx::Error>;
    /// Records a delegation whose delegate was checked; its id.
    fn insert(
        delegator: &str,
        delegate: &str,
        starts_at: i64,
        ends_at: i64,
        now: i64,
    ) -> Result<i64, sqlx::Error>;
    /// Whether a delegation still running was revoked (with `by`: only one of theirs).
    fn revoke(id: i64, by: Option<&str>, now: i64) -> Result<bool, sqlx::Error>;
    /// Whose decisions `delegate` may take at `now`, each once, with their role.
    fn delegators(delegate: &str, now: i64) -> Result<Vec<Delegator>, sqlx::Error>;
    /// The delegations not yet over at `now` (with `name`: those they give or hold).
    fn current(name: Option<&str>, now: i64) -> Result<Vec<Delegation>, sqlx::Error>;
});
