//! The notifications outbox as stored; what is sent, when and how is `notify`'s.

use crate::model::notification::StoredNotification;

on_either_database!(outbox {
    /// Adds one e-mail about `instance_id`, unless it is there already: the number added.
    fn add_one(
        instance_id: &str,
        event_key: &str,
        recipient: &str,
        address: &str,
        now: i64,
    ) -> Result<u64, sqlx::Error>;
    /// The order ended: an e-mail to its requester (if they have an address) and, with
    /// `webhook`, the outcome event for the webhook.
    fn add_outcome(
        instance_id: &str,
        email: bool,
        webhook: bool,
        now: i64,
    ) -> Result<(), sqlx::Error>;
    /// Takes the next due notification for `hold_ms`, if there is one: no other sender
    /// takes it meanwhile.
    fn claim_due(now: i64, hold_ms: i64) -> Result<Option<StoredNotification>, sqlx::Error>;
    /// Takes the next due notification of `event_key` for one order that nobody holds.
    fn claim_for(
        instance_id: &str,
        event_key: &str,
        now: i64,
        hold_ms: i64,
    ) -> Result<Option<StoredNotification>, sqlx::Error>;
    fn mark_sent(id: i64, now: i64) -> Result<(), sqlx::Error>;
    /// A delivery failed: tried again at `retry_at`, or with `None` never (skipped).
    fn mark_failed(
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), sqlx::Error>;
    /// Forgets finished orders' notifications delivered or given up before `before`.
    fn prune_delivered(before: i64) -> Result<u64, sqlx::Error>;
});
