//! The notifications table: what is to be sent, to whom, and how far it got. Every
//! write is idempotent or conditional, as the read model's are.

use std::fmt;
use std::str::FromStr;

use domain::Role;

use super::recipients;
use crate::model::notification::StoredNotification;
use crate::store::db::Db;
use crate::store::read_model;

use crate::store::outbox as stored;

/// How a notification leaves (`notifications.channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// An e-mail to `recipient` at `address`.
    Email,
    /// The outcome's CloudEvent to the webhook (`recipient` is '').
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Self::Email, Self::Webhook];

    /// As the column stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel the outbox does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown notification channel {0:?}")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| UnknownChannel(raw.to_owned()))
    }
}

/// A notification a sender has claimed, its event read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub instance_id: String,
    pub event: Event,
    pub channel: Channel,
    pub recipient: String,
    pub address: Option<String>,
    pub attempts: i64,
}

/// What a claim took: a notification to deliver, or a row whose event this build
/// cannot read (never to be sent; the sender logs it and marks it skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Ready(Claimed),
    Unreadable {
        id: i64,
        instance_id: String,
        why: UnknownEvent,
    },
}

impl Claim {
    /// The notification's row.
    pub fn id(&self) -> i64 {
        match self {
            Self::Ready(claimed) => claimed.id,
            Self::Unreadable { id, .. } => *id,
        }
    }
}

/// Reads a claimed row's event and channel, once, where the row is read. An unknown
/// channel fails the read (the table's CHECK admits none); an unknown event is a row
/// this build cannot send.
fn into_claim(row: StoredNotification) -> Result<Claim, sqlx::Error> {
    let channel = row
        .channel
        .parse()
        .map_err(|e: UnknownChannel| sqlx::Error::ColumnDecode {
            index: "channel".into(),
            source: Box::new(e),
        })?;
    Ok(match row.event.parse() {
        Ok(event) => Claim::Ready(Claimed {
            id: row.id,
            instance_id: row.instance_id,
            event,
            channel,
            recipient: row.recipient,
            address: row.address,
            attempts: row.attempts,
        }),
        Err(why) => Claim::Unreadable {
            id: row.id,
            instance_id: row.instance_id,
            why,
        },
    })
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A decision is asked at `level` (1 for the seed's single level) of `role`.
    Request { level: u32, role: Role },
    /// Its deadline nears.
    Reminder { level: u32, role: Role },
    /// The order's level at `level` of `role` was handed to the recipient.
    Assigned { level: u32, role: Role },
    /// Comment `id` was written in the order's thread.
    Comment { id: i64 },
    /// The order ended.
    Outcome,
}

/// An event key the outbox does not know (`notifications.event`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown notification event {0:?}")]
pub struct UnknownEvent(pub String);

impl Event {
    /// As the outbox keys it: `request:1:manager`, `reminder:2:director`, `outcome`.
    pub fn key(self) -> String {
        match self {
            Self::Request { level, role } => format!("request:{level}:{}", role.as_str()),
            Self::Reminder { level, role } => format!("reminder:{level}:{}", role.as_str()),
            Self::Assigned { level, role } => format!("assigned:{level}:{}", role.as_str()),
            Self::Comment { id } => format!("comment:{id}"),
            Self::Outcome => "outcome".into(),
        }
    }

    fn parse_key(key: &str) -> Option<Self> {
        if key == "outcome" {
            return Some(Self::Outcome);
        }
        if let Some(id) = key.strip_prefix("comment:") {
            return id.parse().ok().map(|id| Self::Comment { id });
        }
        let mut parts = key.split(':');
        let (kind, level, role) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let (level, role) = (level.parse().ok()?, Role::parse(role)?);
        match kind {
            "request" => Some(Self::Request { level, role }),
            "reminder" => Some(Self::Reminder { level, role }),
            "assigned" => Some(Self::Assigned { level, role }),
            _ => None,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl FromStr for Event {
    type Err = UnknownEvent;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Self::parse_key(key).ok_or_else(|| UnknownEvent(key.to_owned()))
    }
}

/// A decision is asked, or its deadline nears (`event`): an e-mail to each person the
/// policy lets decide it, as the inbox shows it to them (as themselves or for someone
/// whose decisions they hold; not their own order; no earlier level approved by them),
/// if they have an address (see [`super::recipients`]). Run after the read model
/// shows the level. Returns how many were added.
pub async fn add_deciders(
    db: &Db,
    instance_id: &str,
    event: Event,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let (level, role) = match event {
        Event::Request { level, role } | Event::Reminder { level, role } => (level, role),
        Event::Assigned { .. } | Event::Comment { .. } | Event::Outcome => return Ok(0),
    };
    let Some(order) = read_model::get(db, instance_id).await? else {
        return Ok(0);
    };
    let candidates = recipients::candidates(db, now).await?;
    let key = event.key();
    let mut added = 0;
    for asked in recipients::asked(&candidates, &order, level, role) {
        added +=
            stored::add_one(db, instance_id, &key, &asked.user.name, &asked.address, now).await?;
    }
    Ok(added)
}

/// An order's level was handed to `recipient` (`event` is [`Event::Assigned`]): an
/// e-mail to them, if they have an address; the senders deliver it. Once per person
/// and level: handed to them again, they are not told twice.
pub async fn add_assignee(
    db: &Db,
    instance_id: &str,
    event: Event,
    recipient: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    match crate::store::accounts::email_of(db, recipient).await? {
        Some(address) => {
            stored::add_one(db, instance_id, &event.key(), recipient, &address, now).await
        }
        None => Ok(0),
    }
}

/// Comment `id` was written in `order`'s thread by `author`: an e-mail to each other
/// participant with an address (its requester, whoever may decide it, whoever decided
/// it: the policy's `may_discuss`); the senders deliver them.
pub async fn add_thread(
    db: &Db,
    order: &crate::model::order::OrderRow,
    id: i64,
    author: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let key = Event::Comment { id }.key();
    let mut added = 0;
    for candidate in recipients::candidates(db, now).await? {
        let name = candidate.user.name.as_str();
        if name != author
            && crate::rules::policy::may_discuss(&candidate.user, &candidate.delegators, order)
                .is_ok()
        {
            added += stored::add_one(db, &order.instance_id, &key, name, &candidate.address, now)
                .await?;
        }
    }
    // The requester decides no orders, so is no candidate: asked on their own.
    if let Some(requester) = order.requested_by.as_deref().filter(|r| *r != author) {
        if let Some(address) = crate::store::accounts::email_of(db, requester).await? {
            added +=
                stored::add_one(db, &order.instance_id, &key, requester, &address, now).await?;
        }
    }
    Ok(added)
}

/// The order ended: an e-mail to its requester (if they have an address) and, with
/// `webhook`, the outcome event for the webhook.
pub use crate::store::outbox::add_outcome;

/// Takes the next due notification for `hold_ms`, if there is one: no other sender
/// takes it meanwhile; after that it is free again (its sender may have died).
pub async fn claim_due(db: &Db, now: i64, hold_ms: i64) -> Result<Option<Claim>, sqlx::Error> {
    stored::claim_due(db, now, hold_ms)
        .await?
        .map(into_claim)
        .transpose()
}

/// Takes the next notification of `event` for one order that is due and nobody holds,
/// as [`claim_due`] does: the activity that added them delivers them at once with this.
pub async fn claim_for(
    db: &Db,
    instance_id: &str,
    event: Event,
    now: i64,
    hold_ms: i64,
) -> Result<Option<Claim>, sqlx::Error> {
    stored::claim_for(db, instance_id, &event.key(), now, hold_ms)
        .await?
        .map(into_claim)
        .transpose()
}

/// Sent; or not sent this time: tried again from `retry_at`, or never (`None`).
pub use crate::store::outbox::{mark_failed, mark_sent};

/// Never to be sent: what it would say no longer holds.
pub async fn mark_skipped(db: &Db, id: i64, why: &str, now: i64) -> Result<(), sqlx::Error> {
    mark_failed(db, id, why, None, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::email::Email;
    use crate::store::read_model::mark_awaiting;

    /// What is still to go, as (event, recipient). The statement reads the same in
    /// both dialects (no parameters).
    async fn due(db: &Db) -> Vec<(String, String)> {
        const SQL: &str = "SELECT event, recipient FROM notifications
              WHERE sent_at IS NULL AND skipped_at IS NULL ORDER BY recipient";
        db.fetch_for_test(SQL).await.expect("reads")
    }

    /// A delegate is asked about what they may decide for someone else, as their inbox
    /// shows it: erin (a manager) holds dora's decisions, so she is e-mailed about a
    /// directors' level; bob, a manager holding nobody's, is not; and once the
    /// delegation has ended, erin is not asked either.
    #[tokio::test]
    async fn a_delegate_is_asked_about_what_they_may_decide_for_someone_else() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        let mut people = std::collections::HashMap::new();
        for (name, role) in [
            ("alice", Role::Requester),
            ("bob", Role::Manager),
            ("erin", Role::Manager),
            ("dora", Role::Director),
        ] {
            let email = Email::parse(&format!("{name}@example.com")).expect("an address");
            let user = crate::notify::fixtures::person(&db, name, role, Some(&email)).await;
            people.insert(name, user);
        }
        crate::store::delegation::insert(&db, "dora", "erin", 0, 10_000, 0)
            .await
            .expect("dora hands her decisions to erin until 10,000");
        let facts = crate::notify::fixtures::desk_order();
        mark_awaiting(&db, &facts, 50_000, 1_000)
            .await
            .expect("waits");
        let directors = Event::Request {
            level: 1,
            role: Role::Director,
        };
        add_deciders(&db, "po-1", directors, 1_000)
            .await
            .expect("adds");
        let asked: Vec<String> = due(&db).await.into_iter().map(|(_, who)| who).collect();
        assert_eq!(
            asked,
            ["dora", "erin"],
            "erin decides for dora; bob may not"
        );

        let reminder = Event::Reminder {
            level: 1,
            role: Role::Director,
        };
        add_deciders(&db, "po-1", reminder, 20_000)
            .await
            .expect("adds");
        let reminded: Vec<String> = due(&db)
            .await
            .into_iter()
            .filter(|(event, _)| event.starts_with("reminder"))
            .map(|(_, who)| who)
            .collect();
        assert_eq!(reminded, ["dora"], "the delegation ended at 10,000");
    }

    #[tokio::test]
    async fn a_request_goes_once_to_each_decider_and_is_sent_once() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        for (name, role, email) in [
            ("alice", Role::Requester, Some("alice@example.com")),
            ("bob", Role::Manager, Some("bob@example.com")),
            ("carol", Role::Manager, None),
            ("dora", Role::Director, Some("dora@example.com")),
        ] {
            let email = email.map(|e| Email::parse(e).expect("an address"));
            crate::notify::fixtures::person(&db, name, role, email.as_ref()).await;
        }
        let facts = crate::notify::fixtures::desk_order();
        mark_awaiting(&db, &facts, 50_000, 1_000)
            .await
            .expect("waits");
        // An activity run twice adds nothing the second time.
        let asked = Event::Request {
            level: 1,
            role: Role::Manager,
        };
        assert_eq!(
            add_deciders(&db, "po-1", asked, 1_000).await.expect("adds"),
            2
        );
        assert_eq!(
            add_deciders(&db, "po-1", asked, 1_000).await.expect("adds"),
            0
        );
        assert_eq!(
            due(&db).await,
            [
                ("request:1:manager".to_owned(), "bob".to_owned()),
                ("request:1:manager".to_owned(), "dora".to_owned())
            ],
            "no requester, nobody without an address"
        );
        // A directors' level goes to directors only.
        let escalated = Event::Request {
            level: 1,
            role: Role::Director,
        };
        assert_eq!(
            add_deciders(&db, "po-1", escalated, 1_000)
                .await
                .expect("adds"),
            1
        );
        for event in [
            asked,
            escalated,
            Event::Reminder {
                level: 2,
                role: Role::Director,
            },
            Event::Outcome,
        ] {
            assert_eq!(event.key().parse(), Ok(event));
        }

        let first = claim_due(&db, 2_000, 60_000)
            .await
            .expect("claims")
            .expect("one is due");
        let second = claim_due(&db, 2_000, 60_000)
            .await
            .expect("claims")
            .expect("another");
        assert_ne!(
            first.id(),
            second.id(),
            "a claimed one is left to its sender"
        );
        mark_sent(&db, first.id(), 2_100).await.expect("marks");
        mark_failed(&db, second.id(), "451", Some(10_000), 2_100)
            .await
            .expect("marks");
        let third = claim_due(&db, 2_200, 60_000)
            .await
            .expect("claims")
            .expect("the last");
        assert!(claim_due(&db, 2_200, 60_000)
            .await
            .expect("claims")
            .is_none());
        // A sender that died: its claim runs out, and another takes it.
        let again = claim_due(&db, 70_000, 60_000)
            .await
            .expect("claims")
            .expect("taken over");
        assert!(again.id() == third.id() || again.id() == second.id());
        assert_ne!(again.id(), first.id(), "a sent one never comes back");
    }

    /// Senders on several replicas claim from one PostgreSQL: a notification another
    /// sender is claiming (its row locked) is passed over for the next, without
    /// waiting for it, and never taken twice.
    #[ignore = "PostgreSQL only: make test runs it on PostgreSQL (--include-ignored)"]
    #[tokio::test]
    async fn a_claim_passes_over_a_notification_another_sender_is_claiming() {
        let (db, pool, _dir) = crate::store::db::temporary_postgres_only().await;
        let pool = &pool;
        let alice = Email::parse("alice@example.com").expect("an address");
        crate::notify::fixtures::person(&db, "alice", Role::Requester, Some(&alice)).await;
        let facts = crate::notify::fixtures::desk_order();
        mark_awaiting(&db, &facts, 50_000, 1_000)
            .await
            .expect("waits");
        add_outcome(&db, "po-1", true, true, 1_000)
            .await
            .expect("adds");
        // Another sender, mid-claim, holds the first in line.
        let mut other = pool.begin().await.expect("a transaction");
        let held: i64 = sqlx::query_scalar(
            "SELECT id FROM notifications ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE",
        )
        .fetch_one(&mut *other)
        .await
        .expect("the first row, locked");
        let claimed = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            claim_due(&db, 2_000, 60_000),
        )
        .await
        .expect("claims without waiting for the other sender")
        .expect("claims")
        .expect("the second one");
        assert_ne!(claimed.id(), held, "the held one is left to its sender");
        other.rollback().await.expect("lets go");
        let rest = claim_due(&db, 2_000, 60_000)
            .await
            .expect("claims")
            .expect("the first one, now free");
        assert_eq!(rest.id(), held);
    }

    #[tokio::test]
    async fn an_outcome_goes_to_the_requester_and_the_webhook_once_and_claims_never_collide() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        let alice = Email::parse("alice@example.com").expect("an address");
        crate::notify::fixtures::person(&db, "alice", Role::Requester, Some(&alice)).await;
        let facts = crate::notify::fixtures::desk_order();
        mark_awaiting(&db, &facts, 50_000, 1_000)
            .await
            .expect("waits");
        add_outcome(&db, "po-1", true, true, 1_000)
            .await
            .expect("adds");
        add_outcome(&db, "po-1", true, true, 1_500)
            .await
            .expect("adds nothing twice");
        assert_eq!(
            due(&db).await,
            [
                ("outcome".to_owned(), String::new()),
                ("outcome".to_owned(), "alice".to_owned())
            ]
        );
        assert!(
            claim_for(&db, "po-1", Event::Outcome, 900, 60_000)
                .await
                .expect("claims")
                .is_none(),
            "not due yet"
        );

        // Senders claiming at once each get a different one, or none.
        let claims = futures::future::join_all((0..6).map(|_| claim_due(&db, 2_000, 60_000))).await;
        let mut ids: Vec<i64> = claims
            .into_iter()
            .filter_map(|c| c.expect("claims"))
            .map(|c| c.id())
            .collect();
        ids.sort_unstable();
        // Two rows and six senders: two claims, of different rows.
        assert_eq!(ids.len(), 2, "each claimed once: {ids:?}");
        assert_ne!(ids[0], ids[1], "one row claimed twice");

        // Skipped: never again, even once its claim has run out.
        for id in ids {
            mark_skipped(&db, id, "the order moved on", 2_100)
                .await
                .expect("marks");
        }
        assert!(due(&db).await.is_empty());
        assert!(claim_due(&db, 90_000, 60_000)
            .await
            .expect("claims")
            .is_none());
        assert!(claim_for(&db, "po-1", Event::Outcome, 90_000, 60_000)
            .await
            .expect("claims")
            .is_none());
    }

    #[test]
    fn channels_and_events_read_back_what_they_write() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse(), Ok(channel));
        }
        assert_eq!(Channel::Email.as_str(), "email");
        assert_eq!(Channel::Webhook.as_str(), "webhook");
        assert_eq!(
            "Email".parse::<Channel>(),
            Err(UnknownChannel("Email".into()))
        );
        for (event, key) in [
            (
                Event::Request {
                    level: 1,
                    role: Role::Manager,
                },
                "request:1:manager",
            ),
            (
                Event::Reminder {
                    level: 2,
                    role: Role::Director,
                },
                "reminder:2:director",
            ),
            (Event::Outcome, "outcome"),
        ] {
            assert_eq!(event.key(), key);
            assert_eq!(key.parse(), Ok(event));
        }
        for unknown in [
            "request:1",
            "request:x:manager",
            "request:1:boss",
            "request:1:manager:again",
            "notice:1:manager",
            "Outcome",
            "",
        ] {
            assert_eq!(
                unknown.parse::<Event>(),
                Err(UnknownEvent(unknown.into())),
                "{unknown}"
            );
        }
    }

    /// A channel reads back from the text the column stores; other text is refused.
    #[test]
    fn a_channel_is_its_column_text() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(channel));
        }
        assert_eq!(
            "sms".parse::<Channel>(),
            Err(UnknownChannel("sms".to_owned()))
        );
    }

    /// What the statements write (`'email'`, `'webhook'`, the event's key) is what a
    /// claim reads back as `Channel` and `Event`, on either database; a stored event
    /// this build cannot read comes back as such, its row still claimed.
    #[tokio::test]
    async fn a_claim_reads_the_channel_and_event_it_was_written_with() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        for (name, role) in [("alice", Role::Requester), ("bob", Role::Manager)] {
            let email = Email::parse(&format!("{name}@example.com")).expect("an address");
            crate::notify::fixtures::person(&db, name, role, Some(&email)).await;
        }
        let facts = crate::notify::fixtures::desk_order();
        mark_awaiting(&db, &facts, 50_000, 1_000)
            .await
            .expect("waits");
        add_outcome(&db, "po-1", true, true, 1_000)
            .await
            .expect("adds");
        let asked = Event::Request {
            level: 1,
            role: Role::Manager,
        };
        add_deciders(&db, "po-1", asked, 1_000).await.expect("adds");
        let mut claimed = Vec::new();
        while let Some(claim) = claim_due(&db, 2_000, 60_000).await.expect("claims") {
            let Claim::Ready(c) = claim else {
                panic!("every event reads: {claim:?}");
            };
            claimed.push((c.event, c.channel, c.recipient));
        }
        claimed.sort_by_key(|(_, channel, recipient)| (channel.as_str(), recipient.clone()));
        assert_eq!(
            claimed,
            [
                (Event::Outcome, Channel::Email, "alice".to_owned()),
                (asked, Channel::Email, "bob".to_owned()),
                (Event::Outcome, Channel::Webhook, String::new()),
            ]
        );

        const OLD: &str = "INSERT INTO notifications (instance_id, event, channel, recipient,
                                                      created_at, next_attempt_at)
                           VALUES ('po-1', 'request:1', 'email', 'bob', 1, 1)";
        db.execute_for_test::<i64>(OLD, &[])
            .await
            .expect("an event of another build");
        let claim = claim_due(&db, 2_000, 60_000)
            .await
            .expect("claims")
            .expect("the old one");
        assert!(
            matches!(&claim, Claim::Unreadable { why, .. } if why.0 == "request:1"),
            "{claim:?}"
        );
        assert!(claim_due(&db, 2_000, 60_000)
            .await
            .expect("claims")
            .is_none());
    }
}
