//! What a notification says: the e-mails' subject and text, and the webhook's
//! CloudEvent with its signature. Written from the order as it stands when it is sent.
//!
//! Daprd's SMTP binding sends every body as `text/html`, so a body is written as HTML:
//! its paragraphs escaped (a product's name is whatever its requester typed) and its
//! links as anchors a mail client can follow.

use serde_json::json;

use crate::kernel::clock::from_ms;
use crate::model::comment::CommentRow;
use crate::model::order::{LevelAt, OrderRow};

pub const EVENT_TYPE: &str = "com.approvals.order.decided";

pub struct Email {
    pub subject: String,
    /// HTML (see the module's notes).
    pub body: String,
}

/// An e-mail's body, paragraph by paragraph.
#[derive(Default)]
struct Body(String);

impl Body {
    /// A paragraph (none for empty text).
    fn text(mut self, text: &str) -> Self {
        if text.is_empty() {
            return self;
        }
        self.0.push_str("<p>");
        self.0.push_str(&html_escape::encode_text(text));
        self.0.push_str("</p>\n");
        self
    }

    /// A link whose text is `label` and the address itself, so that it reads whole
    /// where a client shows no anchors.
    fn link(mut self, label: &str, url: &str) -> Self {
        let url = html_escape::encode_double_quoted_attribute(url);
        let label = html_escape::encode_text(label);
        // The address on a line of its own: quoted-printable breaks long lines.
        self.0
            .push_str(&format!("<p><a href=\"{url}\">\n{label}{url}</a></p>\n"));
        self
    }
}

fn link(origin: &str, row: &OrderRow) -> String {
    format!(
        "{}/orders/{}",
        origin.trim_end_matches('/'),
        row.instance_id
    )
}

fn facts(row: &OrderRow) -> String {
    format!(
        "{} × {} at {} each, {} in all, requested by {}.",
        row.quantity,
        row.product,
        row.unit_cost_cents,
        row.total_cents,
        row.requested_by.as_deref().unwrap_or("someone")
    )
}

/// The two links of a request e-mail that decide the order from the mail (each opens
/// a page that asks to confirm: opening a link decides nothing).
pub struct ActionLinks {
    pub approve_token: String,
    pub reject_token: String,
}

/// Where an action link's token is opened.
pub fn action_url(origin: &str, token: &str) -> String {
    format!("{}/act/{token}", origin.trim_end_matches('/'))
}

/// Why a decision is asked of someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    /// The level asks for it.
    Request,
    /// Again, its deadline nearing.
    Reminder,
    /// The order's level was handed to them.
    Assigned,
}

/// A decision is asked of `name` (see [`Asking`]), with action links when the order
/// has a deadline for them to end at; `files` names what is attached to it (the
/// files themselves are on the order's page, for those who may see it).
pub fn request(
    row: &OrderRow,
    name: &str,
    origin: &str,
    asking: Asking,
    actions: Option<&ActionLinks>,
    files: &[String],
) -> Email {
    let level = match row.level_at() {
        Ok(LevelAt::Of { number, of, role }) if of > 1 => {
            format!(" This is level {number} of {of}, for a {}.", role.as_str())
        }
        // One level, or levels recorded inconsistently: the mail claims none.
        _ => String::new(),
    };
    let deadline = row
        .deadline
        .map(|d| format!(" Decide by {}.", from_ms(d).format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    let what = match asking {
        Asking::Request => "Approval needed",
        Asking::Reminder => "Reminder: approval needed",
        Asking::Assigned => "Assigned to you",
    };
    let held = match asking {
        Asking::Assigned => " It is assigned to you: the order's page says by whom and why.",
        _ => "",
    };
    Email {
        subject: format!("{what}: order {} ({})", row.order_id, row.total_cents),
        body: {
            let attached = match files {
                [] => String::new(),
                [one] => format!("Attached to it: {one} (on the order's page)."),
                many => format!("Attached to it: {} (on the order's page).", many.join(", ")),
            };
            let body = Body::default()
                .text(&format!("Hello {name},"))
                .text(&format!("{}{level}{deadline}{held}", facts(row)))
                .text(&attached);
            match actions {
                Some(links) => body
                    .text("Decide from here:")
                    .link("Approve: ", &action_url(origin, &links.approve_token))
                    .link("Reject: ", &action_url(origin, &links.reject_token))
                    .text(
                        "Each link opens a page where you confirm the decision, with an \
                         optional comment. The links are yours alone: they work once, until \
                         the deadline, and only while the order waits for you.",
                    )
                    .text("Or open the order:")
                    .link("", &link(origin, row)),
                None => body
                    .text("Approve or reject it here:")
                    .link("", &link(origin, row)),
            }
            .0
        },
    }
}

/// A comment in the order's thread, to one of its other participants (`name`).
pub fn comment(row: &OrderRow, comment: &CommentRow, name: &str, origin: &str) -> Email {
    let (subject, said) = if comment.question {
        (
            format!("Question about order {}", row.order_id),
            format!("{} asks about order {}:", comment.author, row.order_id),
        )
    } else {
        (
            format!("Comment on order {}", row.order_id),
            format!("{} wrote about order {}:", comment.author, row.order_id),
        )
    };
    Email {
        subject,
        body: Body::default()
            .text(&format!("Hello {name},"))
            .text(&said)
            .text(&format!("“{}”", comment.text))
            .text(&facts(row))
            .text("Answer on the order's page:")
            .link("", &link(origin, row))
            .0,
    }
}

/// The order ended; to its requester.
pub fn outcome(row: &OrderRow, origin: &str) -> Email {
    let label = row.view().status_label();
    let comment = row
        .view()
        .comment
        .map(|c| format!("Comment: {c}"))
        .unwrap_or_default();
    Email {
        subject: format!("Order {}: {label}", row.order_id),
        body: Body::default()
            .text(&format!("Your order {}: {label}.", row.order_id))
            .text(&facts(row))
            .text(&comment)
            .link("", &link(origin, row))
            .0,
    }
}

/// The id of an order's outcome event: the CloudEvent's `id` and the delivery's
/// `webhook-id`, the same on every attempt, so a receiver that gets it twice can tell.
pub fn outcome_event_id(row: &OrderRow) -> String {
    format!("{}/outcome", row.instance_id)
}

/// The outcome as a CloudEvent (structured JSON).
pub fn outcome_event(row: &OrderRow, origin: &str) -> Vec<u8> {
    let view = row.view();
    let event = json!({
        "specversion": "1.0",
        "type": EVENT_TYPE,
        "source": origin,
        "id": outcome_event_id(row),
        "time": row.decided_at.map(|t| from_ms(t).to_rfc3339()),
        "subject": row.instance_id,
        "datacontenttype": "application/json",
        "data": {
            "instance_id": row.instance_id,
            "order_id": row.order_id,
            "status": view.status.as_str(),
            "status_text": view.status_label(),
            "decided_by": view.decided_by,
            "requested_by": row.requested_by,
            "total": row.total_cents.dollars(),
            "link": link(origin, row),
        },
    });
    event.to_string().into_bytes()
}

/// A delivery's headers as the Standard Webhooks convention has them (what its
/// libraries verify, in any language): `webhook-id`, `webhook-timestamp` (Unix seconds,
/// at this attempt) and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body` under the shared secret). The timestamp is signed, so a receiver
/// refuses a delivery replayed later than its tolerance, and the id, so it refuses one
/// it has seen. Signing is the `standardwebhooks` crate's.
pub fn signed_headers(
    secret: &[u8],
    id: &str,
    timestamp_s: i64,
    body: &[u8],
) -> Result<[(&'static str, String); 3], standardwebhooks::WebhookError> {
    let signature =
        standardwebhooks::Webhook::from_bytes(secret.to_vec())?.sign(id, timestamp_s, body)?;
    // Capitalised: Dapr's http binding sends only metadata keys that begin with a
    // capital letter as headers (names are case-insensitive on the wire).
    Ok([
        ("Webhook-Id", id.to_owned()),
        ("Webhook-Timestamp", timestamp_s.to_string()),
        ("Webhook-Signature", signature),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Cents, OrderStatus};

    #[test]
    fn each_message_names_the_order_and_links_to_it() {
        let row = OrderRow {
            deadline: Some(1_795_000_000_000),
            ..OrderRow::waiting("alice")
        };
        let mail = request(
            &row,
            "bob",
            "http://127.0.0.1:3000/",
            Asking::Request,
            None,
            &[],
        );
        assert!(!mail.body.contains("Attached"), "{}", mail.body);
        assert!(
            request(&row, "bob", "http://x", Asking::Reminder, None, &[])
                .subject
                .starts_with("Reminder: approval needed: order 1")
        );
        assert_eq!(mail.subject, "Approval needed: order 1 ($2,000.00)");
        assert!(mail.body.starts_with("<p>Hello bob,</p>"), "{}", mail.body);
        assert!(mail.body.contains("requested by alice"));
        assert!(
            mail.body.contains("Decide by 2026-11-18 11:06 UTC"),
            "{}",
            mail.body
        );
        assert!(mail
            .body
            .contains("<a href=\"http://127.0.0.1:3000/orders/po-1\">"));
        let links = ActionLinks {
            approve_token: "al_yes".into(),
            reject_token: "al_no".into(),
        };
        let mail = request(
            &row,
            "bob",
            "http://127.0.0.1:3000/",
            Asking::Request,
            Some(&links),
            &["quote.pdf".into(), "<i>site</i>.png".into()],
        );
        assert!(
            mail.body
                .contains("Attached to it: quote.pdf, &lt;i&gt;site&lt;/i&gt;.png (on the order"),
            "{}",
            mail.body
        );
        for (label, token) in [("Approve", "al_yes"), ("Reject", "al_no")] {
            let url = format!("http://127.0.0.1:3000/act/{token}");
            assert!(
                mail.body
                    .contains(&format!("<a href=\"{url}\">\n{label}: {url}</a>")),
                "{}",
                mail.body
            );
        }
        assert!(mail
            .body
            .contains("<a href=\"http://127.0.0.1:3000/orders/po-1\">"));
        // What a requester typed is text in the mail, never markup.
        let crafted = OrderRow {
            product: "<b onmouseover=x>Desk</b>".into(),
            ..row.clone()
        };
        let mail = request(&crafted, "bob", "http://x", Asking::Assigned, None, &[]);
        assert!(mail.subject.starts_with("Assigned to you: order 1"));
        assert!(
            mail.body.contains("&lt;b onmouseover=x&gt;Desk&lt;/b&gt;"),
            "{}",
            mail.body
        );

        let approved = OrderRow {
            status: OrderStatus::Approved,
            decided_by: Some("bob, dora".into()),
            decided_at: Some(1_795_000_000_000),
            total_cents: Cents(1_200_000),
            ..row
        };
        assert_eq!(
            outcome(&approved, "http://x").subject,
            "Order 1: Approved by bob, dora"
        );
        let event: serde_json::Value =
            serde_json::from_slice(&outcome_event(&approved, "http://x")).expect("JSON");
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["id"], "po-1/outcome");
        assert_eq!(event["data"]["status_text"], "Approved by bob, dora");
        assert_eq!(event["data"]["total"], 12_000.0);
    }

    #[test]
    fn a_receiver_verifies_a_delivery_and_refuses_a_replay_or_a_change() {
        let secret = b"a-webhook-secret-for-tests";
        let body = br#"{"id":"po-1/outcome"}"#;
        let now = chrono::Utc::now().timestamp();
        let headers = |timestamp: i64, body: &[u8]| {
            let mut map = axum::http::HeaderMap::new();
            for (name, value) in
                signed_headers(secret, "po-1/outcome", timestamp, body).expect("signed")
            {
                let name = axum::http::HeaderName::try_from(name).expect("a header name");
                map.insert(name, value.parse().expect("a header value"));
            }
            map
        };
        // The receiver's key, as Standard Webhooks writes it: whsec_ and base64.
        let receiver = standardwebhooks::Webhook::new(&format!(
            "whsec_{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret)
        ))
        .expect("a key");
        receiver
            .verify(body, &headers(now, body))
            .expect("verified");
        // Captured an hour ago and sent again: refused.
        assert!(receiver.verify(body, &headers(now - 3_600, body)).is_err());
        // A new timestamp on the old signature: refused.
        let mut moved = headers(now - 3_600, body);
        moved.insert(
            "webhook-timestamp",
            now.to_string().parse().expect("a value"),
        );
        assert!(receiver.verify(body, &moved).is_err());
        // Another body under the same headers: refused.
        assert!(receiver
            .verify(br#"{"id":"po-2/outcome"}"#, &headers(now, body))
            .is_err());
    }
}
