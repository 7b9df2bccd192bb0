//! E-mails' action links (see `services::orders::by_link` for what may use one).

use crate::model::action_link::{ActionLinkRow, NewActionLink};

on_either_database!(action_links {
    /// Keeps a link that is about to be sent.
    fn insert(link: &NewActionLink, now: i64) -> Result<(), sqlx::Error>;
    /// The link whose token hashes to `token_hash`.
    fn find(token_hash: &str) -> Result<Option<ActionLinkRow>, sqlx::Error>;
    /// Marks a link used, if unused and not past its end; false otherwise.
    fn mark_used(token_hash: &str, now: i64) -> Result<bool, sqlx::Error>;
    /// Undoes the use made at `used_at` (its decision certainly did not happen).
    fn release(token_hash: &str, used_at: i64) -> Result<(), sqlx::Error>;
});
