//! Notifications: once per person, by e-mail and webhook, though an activity runs again.

use std::time::Duration;

use crate::common::decide;
use crate::support::{self, output_status, Stack, WAIT};

/// Issue 13 §6: a decision asked sends one e-mail to each person who may decide it (not
/// the requester), even when the SMTP server turns one of them away at first; the
/// outcome sends one e-mail to the requester and one signed CloudEvent to the webhook.
/// Everything through daprd's output bindings (bindings.smtp, bindings.http).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_each_person_once_by_email_and_webhook() {
    const SECRET: &str = "a-webhook-secret-for-tests";
    let sink = support::notify::SmtpSink::start(&["carol@example.com"]);
    let hook = support::notify::WebhookReceiver::start().await;
    let smtp_port = sink.port.to_string();
    let stack = Stack::start_with_env(
        "120s",
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", smtp_port.as_str()),
            ("WEBHOOK_URL", hook.url.as_str()),
        ],
        &[
            ("NOTIFY_EMAIL_BINDING", "notify-email"),
            ("NOTIFY_WEBHOOK_BINDING", "notify-webhook"),
            ("WEBHOOK_SECRET", SECRET),
        ],
    )
    .await;
    for name in ["alice", "bob", "carol", "dora"] {
        let address = format!("{name}@example.com");
        let (ok, out) = stack.admin(&["user", "email", "--name", name, "--email", &address], "");
        assert!(ok, "{out}");
    }

    let waiting = stack.start_waiting("mail-1", 2_500.0).await;
    let link = format!(
        "/orders/{}",
        waiting["instance_id"].as_str().expect("an id")
    );
    for decider in ["bob", "dora", "carol"] {
        // carol's address is refused once: hers comes with the sender's second attempt.
        let mails = sink
            .wait_for(&format!("{decider}@example.com"), 1, WAIT)
            .await;
        let text = &mails[0].text;
        assert!(
            text.contains("Subject: Approval needed: order mail-1 ($2,500.00)"),
            "{text}"
        );
        assert!(text.contains(&format!("Hello {decider},")), "{text}");
        assert!(text.contains(&link), "{text}");
    }

    let (code, decided) = decide(&stack, "bob", "mail-1", true).await;
    assert_eq!(code, 200, "{decided}");
    let to_alice = sink.wait_for("alice@example.com", 1, WAIT).await;
    assert!(
        to_alice[0]
            .text
            .contains("Subject: Order mail-1: Approved by bob"),
        "{}",
        to_alice[0].text
    );

    let deadline = std::time::Instant::now() + WAIT;
    while hook.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no webhook call");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (headers, body) = hook.received()[0].clone();
    let event: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["type"], "com.approvals.order.decided");
    assert_eq!(event["id"], "po-mail-1/outcome");
    assert_eq!(event["data"]["status_text"], "Approved by bob");
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/cloudevents+json")
    );
    // Verified as a receiver would: with a Standard Webhooks library and the shared
    // secret, over the body, its id and its timestamp as received.
    assert_eq!(
        headers.get("webhook-id").and_then(|v| v.to_str().ok()),
        Some("po-mail-1/outcome")
    );
    let receiver =
        standardwebhooks::Webhook::from_bytes(SECRET.as_bytes().to_vec()).expect("a key");
    if let Err(e) = receiver.verify(&body, &headers) {
        panic!("the delivery does not verify ({e}): {headers:?}");
    }

    // Once each, however long one waits: nothing is sent twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (address, count) in [
        ("bob@example.com", 1),
        ("carol@example.com", 1),
        ("dora@example.com", 1),
        ("alice@example.com", 1),
    ] {
        assert_eq!(sink.to(address).len(), count, "{address}");
    }
    assert_eq!(hook.received().len(), 1);
    assert!(
        stack.server_log().contains("notification not delivered"),
        "carol's first attempt was refused and tried again"
    );
}

/// Issue 13 §6: delivery is the activity's, and a notification goes once per event even
/// when its activity runs again. The request activity fails on cue (a test fault) right
/// after it e-mailed the deciders; Dapr runs it again, which finds its e-mail sent and
/// sends nothing; the workflow goes on and is decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_goes_once_though_its_activity_runs_again() {
    let sink = support::notify::SmtpSink::start(&[]);
    let smtp_port = sink.port.to_string();
    let stack = Stack::start_with_env(
        "120s",
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", smtp_port.as_str()),
        ],
        &[
            ("NOTIFY_EMAIL_BINDING", "notify-email"),
            (
                backend::kernel::fault::VARIABLE,
                backend::kernel::fault::Fault::RequestFailsAfterNotifying.as_str(),
            ),
        ],
    )
    .await;
    let (ok, out) = stack.admin(
        &[
            "user",
            "email",
            "--name",
            "bob",
            "--email",
            "bob@example.com",
        ],
        "",
    );
    assert!(ok, "{out}");

    stack.start_waiting("again-1", 2_500.0).await;
    let to_bob = sink.wait_for("bob@example.com", 1, WAIT).await;
    assert!(
        to_bob[0]
            .text
            .contains("Subject: Approval needed: order again-1"),
        "{}",
        to_bob[0].text
    );
    // Both runs of the activity: the first sent bob's e-mail itself, the second none.
    let runs = |log: &str| {
        log.lines()
            .filter(|l| l.contains("notifications delivered by the activity"))
            .map(|l| l.contains("sent=1 not_sent=0"))
            .collect::<Vec<bool>>()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while runs(&stack.server_log()).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the activity did not run again:\n{}",
            stack.server_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = stack.server_log();
    assert!(log.contains("test fault fired"), "{log}");
    assert_eq!(runs(&log), [true, false], "{log}");

    let (code, decided) = decide(&stack, "bob", "again-1", true).await;
    assert_eq!(code, 200, "{decided}");
    let state = stack.wait_for_completion("po-again-1", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob");
    // However long one waits, bob was asked once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.to("bob@example.com").len(), 1);
}
