//! A consistent online copy of the database: SQLite writes it from one read
//! transaction, while writers go on (`server backup`). PostgreSQL's is `pg_dump`'s.

use crate::Pool;

/// Writes the whole database to a new file `path` (which must not exist).
pub async fn vacuum_into(db: &Pool, path: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("VACUUM INTO $1", path).execute(db).await?;
    Ok(())
}
