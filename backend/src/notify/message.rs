//! What a notification says: the e-mails' subject and text, and the webhook's
//! CloudEvent with its signature. Written from the order as it stands when it is sent.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::kernel::clock::from_ms;
use crate::model::order::{LevelAt, OrderRow};

/// The header that carries the webhook's signature: `sha256=` and the hex HMAC-SHA256
/// of the body under the shared secret.
pub const SIGNATURE_HEADER: &str = "Webhook-Signature";
pub const EVENT_TYPE: &str = "com.approvals.order.decided";

pub struct Email {
    pub subject: String,
    pub body: String,
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

/// A decision is asked of `name` (`reminder`: again, its deadline nearing).
pub fn request(row: &OrderRow, name: &str, origin: &str, reminder: bool) -> Email {
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
    let what = if reminder {
        "Reminder: approval needed"
    } else {
        "Approval needed"
    };
    Email {
        subject: format!("{what}: order {} ({})", row.order_id, row.total_cents),
        body: format!(
            "Hello {name},\n\n{}{level}{deadline}\n\nApprove or reject it here:\n{}\n",
            facts(row),
            link(origin, row)
        ),
    }
}

/// The order ended; to its requester.
pub fn outcome(row: &OrderRow, origin: &str) -> Email {
    let label = row.view().status_label();
    let comment = row
        .view()
        .comment
        .map(|c| format!("\nComment: {c}\n"))
        .unwrap_or_default();
    Email {
        subject: format!("Order {}: {label}", row.order_id),
        body: format!(
            "Your order {}: {label}.\n\n{}\n{comment}\n{}\n",
            row.order_id,
            facts(row),
            link(origin, row)
        ),
    }
}

/// The outcome as a CloudEvent (structured JSON). Its `id` names the order's outcome, so
/// a receiver that gets it twice can tell.
pub fn outcome_event(row: &OrderRow, origin: &str) -> Vec<u8> {
    let view = row.view();
    let event = json!({
        "specversion": "1.0",
        "type": EVENT_TYPE,
        "source": origin,
        "id": format!("{}/outcome", row.instance_id),
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

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
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
        let mail = request(&row, "bob", "http://127.0.0.1:3000/", false);
        assert!(request(&row, "bob", "http://x", true)
            .subject
            .starts_with("Reminder: approval needed: order 1"));
        assert_eq!(mail.subject, "Approval needed: order 1 ($2,000.00)");
        assert!(mail.body.starts_with("Hello bob,"), "{}", mail.body);
        assert!(mail.body.contains("requested by alice"));
        assert!(
            mail.body.contains("Decide by 2026-11-18 11:06 UTC"),
            "{}",
            mail.body
        );
        assert!(mail.body.contains("http://127.0.0.1:3000/orders/po-1\n"));

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
    fn the_signature_is_the_known_hmac() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
