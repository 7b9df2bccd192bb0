//! A notification of the outbox as a claim reads it back from either database, before
//! the notifier reads its event and channel (`notify::outbox`).

/// A claimed row as stored: the event and the channel still as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotification {
    pub id: i64,
    pub instance_id: String,
    pub event: String,
    pub channel: String,
    pub recipient: String,
    pub address: Option<String>,
    pub attempts: i64,
}
