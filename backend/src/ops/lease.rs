//! Leases: work that one replica at a time should do, when several share the database
//! (the reconciler: two at once would repair the same order twice and fight over it).
//! A lease is a row naming its holder until a time; the holder renews it while it
//! works, and anyone may take it once it has run out, so a replica that dies hands its
//! work over after one lease time. A restarted replica that keeps its identity
//! (`REPLICA_ID`) takes its own lease back at once.

use std::time::Duration;

use crate::store::db::Db;
use crate::store::lease as stored;

/// The reconciler's lease.
pub const RECONCILER: &str = "reconciler";

/// Takes or renews lease `name` for `holder` until `now_ms + ttl`. True if `holder`
/// has it now; false if someone else holds it and it has not run out.
pub async fn hold(
    db: &Db,
    name: &str,
    holder: &str,
    now_ms: i64,
    ttl: Duration,
) -> Result<bool, sqlx::Error> {
    let until = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    stored::hold(db, name, holder, now_ms, until).await
}

/// Gives lease `name` up, if `holder` has it, so another replica need not wait for it
/// to run out.
pub async fn release(db: &Db, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    stored::release(db, name, holder).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn one_holder_at_a_time_until_it_runs_out_or_is_given_up() {
        let (db, _dir) = crate::store::db::temporary().await.expect("db");
        assert!(hold(&db, RECONCILER, "a", 0, TTL).await.expect("take"));
        assert!(!hold(&db, RECONCILER, "b", 1_000, TTL)
            .await
            .expect("held by a"));
        // Renewing moves the end: b still waits past a's first minute.
        assert!(hold(&db, RECONCILER, "a", 30_000, TTL)
            .await
            .expect("renew"));
        assert!(!hold(&db, RECONCILER, "b", 60_000, TTL)
            .await
            .expect("renewed"));
        // a stops renewing (it died): b takes over once the lease has run out…
        assert!(hold(&db, RECONCILER, "b", 90_000, TTL)
            .await
            .expect("run out"));
        // …and a, back, does not take it away.
        assert!(!hold(&db, RECONCILER, "a", 91_000, TTL)
            .await
            .expect("b has it"));
        // Given up, it is free at once; giving up someone else's lease does nothing.
        release(&db, RECONCILER, "a").await.expect("not a's");
        assert!(!hold(&db, RECONCILER, "a", 92_000, TTL)
            .await
            .expect("still b's"));
        release(&db, RECONCILER, "b").await.expect("b gives up");
        assert!(hold(&db, RECONCILER, "a", 93_000, TTL).await.expect("free"));
        // Other names are other leases.
        assert!(hold(&db, "other", "b", 93_000, TTL)
            .await
            .expect("another lease"));
    }
}
