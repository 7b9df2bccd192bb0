//! Leases as stored; what they are for is `ops::lease`'s.

on_either_database!(lease {
    /// Takes or renews lease `name` for `holder` until `until`, unless someone else
    /// holds it and it has not run out; whether `holder` has it now.
    fn hold(name: &str, holder: &str, now_ms: i64, until: i64) -> Result<bool, sqlx::Error>;
    /// Gives lease `name` up, if `holder` has it.
    fn release(name: &str, holder: &str) -> Result<(), sqlx::Error>;
});
