//! Notifications (issue 13 §6): an e-mail to each person who can decide an order when
//! a decision is asked of them, an e-mail to the requester when it ends, and a signed
//! CloudEvent to a webhook on every outcome. All of it leaves through Dapr output
//! bindings (`bindings.smtp`, `bindings.http`), each only when configured.
//!
//! Delivery is the workflow's activity's: with the read model it writes an outbox row
//! per event and recipient ([`outbox`]), then claims and sends those rows itself
//! ([`sender::Sender::send_for`]), marking each sent. A re-run of the activity adds no
//! row twice and finds its rows sent, so each notification goes once per event. What
//! fails to go is left to the senders on every replica, which retry it with a growing
//! pause ([`sender`]): an SMTP server that is down delays mail, never a decision or a
//! workflow.

pub mod message;
pub mod outbox;
pub mod recipients;
pub mod sender;

use std::sync::Arc;

use outbox::Event;
use sender::{Delivered, Sender};

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

/// What the workflow's activities do about notifications: which ones they add to the
/// outbox, and the sender that delivers them at once, when this process runs one.
#[derive(Clone, Default)]
pub struct Notifier {
    pub channels: Channels,
    pub sender: Option<Arc<Sender>>,
}

impl Notifier {
    /// Adds to the outbox only; the senders deliver later (the in-memory engine's way).
    pub fn queue_only(channels: Channels) -> Self {
        Self {
            channels,
            sender: None,
        }
    }

    /// Delivers now what the outbox holds for `event` of the order (see
    /// [`Sender::send_for`]); nothing without a sender.
    pub async fn deliver(&self, instance_id: &str, event: Event) -> Result<Delivered, sqlx::Error> {
        match &self.sender {
            Some(sender) => sender.send_for(instance_id, event).await,
            None => Ok(Delivered::default()),
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::kernel::email::Email;
    use crate::model::order::OrderFacts;
    use crate::model::people::User;
    use crate::store::db::Db;

    /// An account as the store keeps it (its password never used here): the people
    /// the notification tests notify.
    pub async fn person(db: &Db, name: &str, role: domain::Role, email: Option<&Email>) -> User {
        crate::store::accounts::insert_user(db, name, role, "unused", 0, email.map(Email::as_str))
            .await
            .expect("inserts")
            .expect("a new name")
    }

    /// alice's $2,000 desk, `po-1`: the order the notification tests notify about.
    pub fn desk_order() -> OrderFacts {
        OrderFacts {
            instance_id: "po-1".into(),
            order_id: "1".into(),
            product: "Desk".into(),
            quantity: 1,
            unit_cost: domain::Cents(200_000),
            requested_by: Some("alice".into()),
        }
    }
}
