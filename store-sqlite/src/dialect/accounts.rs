//! What accounts need of SQLite alone.

use sqlx::{Sqlite, Transaction};

/// Nothing to lock: one server process owns a SQLite file, and it creates the first
/// accounts once, at start-up.
pub async fn lock_users(_tx: &mut Transaction<'_, Sqlite>) -> Result<(), sqlx::Error> {
    Ok(())
}
