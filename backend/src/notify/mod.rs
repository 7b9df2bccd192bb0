//! Notifications (issue 13 §6): an e-mail to each person who can decide an order when
//! a decision is asked of them, an e-mail to the requester when it ends, and a signed
//! CloudEvent to a webhook on every outcome. All of it leaves through Dapr output
//! bindings (`bindings.smtp`, `bindings.http`), each only when configured.
//!
//! The workflow's activities do not send anything themselves: with the read model they
//! write an outbox row per event and recipient ([`outbox`]), which a re-run activity
//! cannot duplicate. Senders on every replica claim due rows one at a time and deliver
//! them ([`sender`]), retrying with a growing pause; a row is marked sent once. So an
//! SMTP server that is down delays mail, never a decision or a workflow.

pub mod message;
pub mod outbox;
pub mod sender;

/// Which notifications are sent (what the activities add to the outbox).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Channels {
    pub email: bool,
    pub webhook: bool,
}

impl Channels {
    pub fn any(self) -> bool {
        self.email || self.webhook
    }
}
