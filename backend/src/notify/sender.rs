//! Delivers the outbox: claims one due notification at a time, writes it from the order
//! as it stands, hands it to a Dapr output binding, and marks it sent, or due again
//! after a pause that grows with each attempt. The activity that adds notifications
//! delivers them at once ([`Sender::send_for`]); the loop on every replica
//! ([`Sender::run`]) takes whatever is left. A claim keeps every other sender off a
//! notification while it is being sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::{Decision, OrderStatus, Role};

use super::message;
use super::outbox::{self, Channel, Claim, Claimed, Event};
use crate::kernel::clock::now_ms;
use crate::kernel::secret;
use crate::model::action_link::NewActionLink;
use crate::model::order::OrderRow;
use crate::store::action_links;
use crate::store::db::Db;
use crate::store::read_model;

/// What an e-mail action link's token starts with (it says what the secret is, should
/// one turn up in a log or a paste).
pub const ACTION_TOKEN_PREFIX: &str = "al_";

/// How long a claim keeps other senders off a notification.
const CLAIM_FOR: Duration = Duration::from_secs(60);
/// How often an idle sender looks for due notifications.
const POLL: Duration = Duration::from_millis(500);
/// How long an activity goes on delivering before it leaves the rest to the senders.
const INLINE_BUDGET: Duration = Duration::from_secs(2);
/// After this many attempts a notification is given up (about a day of retries).
const MAX_ATTEMPTS: i64 = 30;

/// Where notifications leave: a Dapr output binding, by name.
#[async_trait::async_trait]
pub trait Bindings: Send + Sync {
    async fn invoke(
        &self,
        binding: &str,
        operation: &str,
        data: Vec<u8>,
        metadata: HashMap<String, String>,
    ) -> Result<(), String>;
}

/// Daprd's output bindings, every call with a deadline.
pub struct DaprBindings {
    client: dapr::Client<dapr::client::TonicClientWithAuth>,
    timeout: Duration,
}

impl DaprBindings {
    /// `endpoint`: daprd's gRPC API (`http://127.0.0.1:50001`); `token`: its API token.
    pub async fn connect(
        endpoint: &str,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let options = dapr::client::ClientOptions::new()
            .with_address(endpoint)
            .with_timeout(timeout);
        let options = match token {
            Some(token) => options.with_api_token(token),
            None => options.without_api_token(),
        };
        let client = dapr::Client::from_options(options)
            .await
            .map_err(|e| format!("connecting to daprd at {endpoint}: {e}"))?;
        Ok(Self { client, timeout })
    }
}

#[async_trait::async_trait]
impl Bindings for DaprBindings {
    async fn invoke(
        &self,
        binding: &str,
        operation: &str,
        data: Vec<u8>,
        metadata: HashMap<String, String>,
    ) -> Result<(), String> {
        let mut client = self.client.clone();
        let call = client.invoke_binding(binding, data, operation, Some(metadata));
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer from daprd in {:?}", self.timeout)),
        }
    }
}

/// What a sender needs: where to send, and what links point at.
pub struct Sender {
    pub db: Db,
    pub bindings: Arc<dyn Bindings>,
    /// The `bindings.smtp` component's name, when e-mail is on.
    pub email_binding: Option<String>,
    /// The `bindings.http` component's name and the signing secret, when webhooks are on.
    pub webhook: Option<(String, Vec<u8>)>,
    /// The app's public origin, for links.
    pub origin: String,
}

/// How one delivery attempt ended.
enum Settled {
    Sent,
    /// Never to be sent (see [`Failure::Skip`]).
    Skipped,
    /// Left for a later attempt.
    Failed,
}

/// Why one notification was not delivered.
enum Failure {
    /// Worth another attempt later.
    Retry(String),
    /// Never: what it would say no longer holds.
    Skip(String),
}

/// What one delivery round of an activity did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Handed to the binding and marked sent.
    pub sent: u32,
    /// Tried and not sent: left for a later attempt, or given up because it no longer
    /// holds. (Those not tried are left to the senders too.)
    pub not_sent: u32,
}

impl Sender {
    /// The senders' loop: whatever is due and no activity delivered (a failed attempt's
    /// retry, an outcome recorded outside a workflow, a replica that died mid-send).
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.send_next().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "notifications: database"),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends the next due notification; false when none is due.
    pub async fn send_next(&self) -> Result<bool, sqlx::Error> {
        let hold = CLAIM_FOR.as_millis() as i64;
        let Some(claim) = outbox::claim_due(&self.db, now_ms(), hold).await? else {
            return Ok(false);
        };
        self.settle(&claim).await?;
        Ok(true)
    }

    /// Delivers, now, what the outbox holds for `event` of one order that is due and
    /// not yet sent: the activity that added it calls this. A run of the activity again
    /// finds its notifications marked sent and sends none twice.
    ///
    /// An activity can be on a person's wait (a decision's confirmation waits for the
    /// workflow's next step), so this keeps short: it stops at the first notification
    /// that does not go, and claims none after [`INLINE_BUDGET`]. What is left waits for
    /// the senders' next attempt, never failing the activity: a mail server that is
    /// down delays mail by at most one call's deadline, never a decision or a workflow.
    pub async fn send_for(
        &self,
        instance_id: &str,
        event: Event,
    ) -> Result<Delivered, sqlx::Error> {
        let hold = CLAIM_FOR.as_millis() as i64;
        let started = std::time::Instant::now();
        let mut delivered = Delivered::default();
        while started.elapsed() < INLINE_BUDGET {
            let Some(claim) =
                outbox::claim_for(&self.db, instance_id, event, now_ms(), hold).await?
            else {
                break;
            };
            match self.settle(&claim).await? {
                Settled::Sent => delivered.sent += 1,
                Settled::Skipped => delivered.not_sent += 1,
                Settled::Failed => {
                    delivered.not_sent += 1;
                    break;
                }
            }
        }
        Ok(delivered)
    }

    /// Delivers one claimed notification and records how it went. One whose event
    /// cannot be read is never sent: it is logged and marked skipped.
    async fn settle(&self, claim: &Claim) -> Result<Settled, sqlx::Error> {
        let claimed = match claim {
            Claim::Ready(claimed) => claimed,
            Claim::Unreadable {
                id,
                instance_id,
                why,
            } => {
                tracing::error!(%instance_id, notification = id, error = %why,
                    "notification skipped: its event cannot be read");
                outbox::mark_skipped(&self.db, *id, &why.to_string(), now_ms()).await?;
                return Ok(Settled::Skipped);
            }
        };
        let span = tracing::info_span!("notify", instance_id = %claimed.instance_id,
            event = %claimed.event, channel = %claimed.channel);
        let result = tracing::Instrument::instrument(self.deliver(claimed), span).await;
        let now = now_ms();
        match result {
            Ok(()) => {
                outbox::mark_sent(&self.db, claimed.id, now).await?;
                Ok(Settled::Sent)
            }
            Err(Failure::Skip(why)) => {
                tracing::info!(instance_id = %claimed.instance_id, %why, "notification not sent");
                outbox::mark_skipped(&self.db, claimed.id, &why, now).await?;
                Ok(Settled::Skipped)
            }
            Err(Failure::Retry(error)) => {
                let retry_at = (claimed.attempts < MAX_ATTEMPTS)
                    .then(|| now + backoff(claimed.attempts).as_millis() as i64);
                tracing::warn!(instance_id = %claimed.instance_id, %error,
                    attempts = claimed.attempts, gives_up = retry_at.is_none(),
                    "notification not delivered");
                outbox::mark_failed(&self.db, claimed.id, &error, retry_at, now).await?;
                Ok(Settled::Failed)
            }
        }
    }

    async fn deliver(&self, claimed: &Claimed) -> Result<(), Failure> {
        let row = read_model::get(&self.db, &claimed.instance_id)
            .await
            .map_err(|e| Failure::Retry(format!("read model: {e}")))?
            .ok_or_else(|| Failure::Skip("the order is gone".into()))?;
        match claimed.channel {
            Channel::Email => self.email(claimed, &row).await,
            Channel::Webhook => self.webhook(&row).await,
        }
    }

    async fn email(&self, claimed: &Claimed, row: &OrderRow) -> Result<(), Failure> {
        let binding = self
            .email_binding
            .as_deref()
            .ok_or_else(|| Failure::Skip("e-mail is not configured".into()))?;
        let address = claimed
            .address
            .as_deref()
            .ok_or_else(|| Failure::Skip("no address".into()))?;
        let event = claimed.event;
        let mail = match event {
            Event::Outcome => message::outcome(row, &self.origin),
            Event::Comment { id } => {
                let comment = crate::store::comments::get(&self.db, id)
                    .await
                    .map_err(|e| Failure::Retry(format!("read model: {e}")))?
                    .ok_or_else(|| Failure::Skip("the comment is gone".into()))?;
                message::comment(row, &comment, &claimed.recipient, &self.origin)
            }
            Event::Request { level, role }
            | Event::Reminder { level, role }
            | Event::Assigned { level, role } => {
                // It still stands only while the order waits at that level, asked of
                // that role.
                let asked = row.asked().map_err(|e| Failure::Skip(e.to_string()))?;
                if row.status != OrderStatus::AwaitingApproval || asked != (level, role) {
                    return Err(Failure::Skip(
                        "the order no longer waits at that level".into(),
                    ));
                }
                let assigned = matches!(event, Event::Assigned { .. });
                if assigned && row.assignee.as_deref() != Some(claimed.recipient.as_str()) {
                    return Err(Failure::Skip("the order is no longer theirs".into()));
                }
                let links = self.action_links(claimed, row, level, role).await?;
                let kind = match event {
                    Event::Reminder { .. } => message::Asking::Reminder,
                    Event::Assigned { .. } => message::Asking::Assigned,
                    _ => message::Asking::Request,
                };
                let files = self.attached(row).await?;
                message::request(
                    row,
                    &claimed.recipient,
                    &self.origin,
                    kind,
                    links.as_ref(),
                    &files,
                )
            }
        };
        let metadata = HashMap::from([
            ("emailTo".to_owned(), address.to_owned()),
            ("subject".to_owned(), mail.subject),
        ]);
        self.bindings
            .invoke(binding, "create", mail.body.into_bytes(), metadata)
            .await
            .map_err(Failure::Retry)
    }

    /// The names of the files attached to `row`, for a request to name them.
    async fn attached(&self, row: &OrderRow) -> Result<Vec<String>, Failure> {
        if row.attachments == 0 {
            return Ok(Vec::new());
        }
        let files = crate::store::attachments::list(&self.db, &row.instance_id)
            .await
            .map_err(|e| Failure::Retry(format!("read model: {e}")))?;
        Ok(files.into_iter().map(|f| f.name).collect())
    }

    /// Fresh Approve and Reject links for this delivery of a request, kept (hashed)
    /// before the mail goes: for its recipient, this order and this level, until the
    /// level's deadline. None without a deadline to end at.
    async fn action_links(
        &self,
        claimed: &Claimed,
        row: &OrderRow,
        level: u32,
        role: Role,
    ) -> Result<Option<message::ActionLinks>, Failure> {
        let Some(deadline) = row.deadline else {
            return Ok(None);
        };
        let mut tokens = Vec::with_capacity(2);
        for decision in [Decision::Approve, Decision::Reject] {
            let token = secret::new_token(ACTION_TOKEN_PREFIX);
            let link = NewActionLink {
                token_hash: secret::token_hash(&token),
                notification_id: claimed.id,
                instance_id: claimed.instance_id.clone(),
                recipient: claimed.recipient.clone(),
                level: i64::from(level),
                role,
                decision,
                expires_at: deadline,
            };
            action_links::insert(&self.db, &link, now_ms())
                .await
                .map_err(|e| Failure::Retry(format!("keeping the action links: {e}")))?;
            tokens.push(token);
        }
        let [approve_token, reject_token]: [String; 2] = tokens
            .try_into()
            .map_err(|_| Failure::Skip("two links were not made".into()))?;
        Ok(Some(message::ActionLinks {
            approve_token,
            reject_token,
        }))
    }

    async fn webhook(&self, row: &OrderRow) -> Result<(), Failure> {
        let (binding, secret) = self
            .webhook
            .as_ref()
            .ok_or_else(|| Failure::Skip("webhooks are not configured".into()))?;
        let body = message::outcome_event(row, &self.origin);
        // Signed at this attempt: a retry carries a fresh timestamp and the same id.
        let signed = message::signed_headers(
            secret,
            &message::outcome_event_id(row),
            now_ms().div_euclid(1_000),
            &body,
        )
        .map_err(|e| Failure::Skip(format!("the webhook event could not be signed: {e}")))?;
        let mut metadata = HashMap::from([
            (
                "Content-Type".to_owned(),
                "application/cloudevents+json".to_owned(),
            ),
            // A receiver that answers 4xx/5xx did not take it.
            ("errorIfNot2XX".to_owned(), "true".to_owned()),
        ]);
        metadata.extend(signed.map(|(name, value)| (name.to_owned(), value)));
        self.bindings
            .invoke(binding, "post", body, metadata)
            .await
            .map_err(Failure::Retry)
    }
}

/// 2 s, 4 s, 8 s … at most 10 minutes.
fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 10)).unwrap_or(10);
    Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::email::Email;
    use crate::store::read_model::mark_awaiting;
    use domain::Role;
    use std::sync::Mutex;

    /// A binding that takes e-mails, or refuses every one while `down`.
    #[derive(Default)]
    struct FakeBinding {
        down: Mutex<bool>,
        sent_to: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl Bindings for FakeBinding {
        async fn invoke(
            &self,
            _binding: &str,
            _operation: &str,
            _data: Vec<u8>,
            metadata: HashMap<String, String>,
        ) -> Result<(), String> {
            if *self.down.lock().expect("lock") {
                return Err("421 try again later".into());
            }
            let to = metadata.get("emailTo").cloned().unwrap_or_default();
            self.sent_to.lock().expect("lock").push(to);
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_activity_sends_each_notification_once_and_leaves_failures_to_the_loop() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        for name in ["alice", "bob", "carol", "dora"] {
            let role = if name == "alice" {
                Role::Requester
            } else {
                Role::Manager
            };
            let email = Email::parse(&format!("{name}@example.com")).expect("an address");
            crate::notify::fixtures::person(&db, name, role, Some(&email)).await;
        }
        let facts = crate::notify::fixtures::desk_order();
        let far = now_ms() + 3_600_000;
        mark_awaiting(&db, &facts, far, now_ms())
            .await
            .expect("waits");
        let asked = Event::Request {
            level: 1,
            role: Role::Manager,
        };
        outbox::add_deciders(&db, "po-1", asked, now_ms())
            .await
            .expect("adds");
        let binding = Arc::new(FakeBinding::default());
        let sender = Sender {
            db: db.clone(),
            bindings: binding.clone(),
            email_binding: Some("notify-email".into()),
            webhook: None,
            origin: "http://127.0.0.1:3000".into(),
        };

        // The mail server refuses: the activity stops at the first and leaves the rest.
        *binding.down.lock().expect("lock") = true;
        let delivered = sender.send_for("po-1", asked).await.expect("delivers");
        assert_eq!(
            delivered,
            Delivered {
                sent: 0,
                not_sent: 1
            }
        );
        // Back up: the activity run again sends the two it had not tried; the refused
        // one waits for its pause to end and the loop.
        *binding.down.lock().expect("lock") = false;
        let delivered = sender.send_for("po-1", asked).await.expect("delivers");
        assert_eq!(
            delivered,
            Delivered {
                sent: 2,
                not_sent: 0
            }
        );
        // A third run finds everything sent or waiting: nothing goes twice.
        let delivered = sender.send_for("po-1", asked).await.expect("delivers");
        assert_eq!(delivered, Delivered::default());
        let mut sent_to = binding.sent_to.lock().expect("lock").clone();
        assert_eq!(sent_to.len(), 2);
        sent_to.dedup();
        assert_eq!(sent_to.len(), 2, "two addresses, once each");
    }

    /// A notification whose stored event this build cannot read is logged and marked
    /// skipped, never sent, never retried, and never stops the senders.
    #[tokio::test]
    async fn an_unreadable_event_is_skipped_not_sent() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        let facts = crate::notify::fixtures::desk_order();
        mark_awaiting(&db, &facts, now_ms() + 3_600_000, now_ms())
            .await
            .expect("waits");
        const OLD: &str = "INSERT INTO notifications (instance_id, event, channel, recipient,
                                                      address, created_at, next_attempt_at)
                           VALUES ('po-1', 'request:1', 'email', 'bob', 'bob@example.com', 1, 1)";
        const SKIPPED: &str =
            "SELECT last_error FROM notifications WHERE skipped_at IS NOT NULL AND sent_at IS NULL";
        db.execute_for_test::<i64>(OLD, &[])
            .await
            .expect("an event of another build");
        let binding = Arc::new(FakeBinding::default());
        let sender = Sender {
            db: db.clone(),
            bindings: binding.clone(),
            email_binding: Some("notify-email".into()),
            webhook: None,
            origin: "http://127.0.0.1:3000".into(),
        };
        assert!(sender.send_next().await.expect("goes on"), "one was due");
        assert!(!sender.send_next().await.expect("goes on"), "none again");
        assert!(binding.sent_to.lock().expect("lock").is_empty());
        let why: Vec<Option<String>> = db.scalars_for_test(SKIPPED).await.expect("reads");
        assert_eq!(
            why,
            [Some(r#"unknown notification event "request:1""#.to_owned())]
        );
    }

    #[test]
    fn the_pause_grows_to_ten_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(30), Duration::from_secs(600));
    }
}
