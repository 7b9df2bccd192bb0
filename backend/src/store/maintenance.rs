//! What the operators' maintenance commands ask of the database itself.

on_either_database!(maintenance {
    /// The newest migration applied (its version, `YYYYMMDDnnnnnn`), if any.
    fn schema_version() -> Result<Option<i64>, sqlx::Error>;
    /// Every order waiting for a decision back to `submitted`, keeping its level,
    /// deadline and claim, for the reconciler to give it a workflow again. How many.
    fn reopen_waiting(now: i64) -> Result<u64, sqlx::Error>;
    /// The latest time any order was written at, by the clock of whoever wrote it.
    fn newest_write() -> Result<Option<i64>, sqlx::Error>;
});
