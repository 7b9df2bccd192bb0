//! Who has an address and who holds whose decisions, for `notify::recipients`.

use domain::Role;

use crate::model::people::User;

on_either_database!(recipients {
    /// Deciders with an e-mail address, and that address.
    fn people() -> Result<Vec<(User, String)>, sqlx::Error>;
    /// The delegations in force at `now`: delegate, delegator and the delegator's role.
    fn held(now: i64) -> Result<Vec<(String, String, Role)>, sqlx::Error>;
});
