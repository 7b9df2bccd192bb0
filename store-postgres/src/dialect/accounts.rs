//! What accounts need of PostgreSQL alone.

use sqlx::{Postgres, Transaction};

/// Several replicas share the database: `SHARE ROW EXCLUSIVE` conflicts with itself
/// and with every write to `users` (not with reads), so whoever creates the first
/// accounts second waits here, then sees the first's.
pub async fn lock_users(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query!("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
