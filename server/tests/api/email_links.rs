//! Deciding from the e-mail (issue 25 §1): the links in a real e-mail, sent through
//! daprd's SMTP binding to a real SMTP sink, decide on a real workflow once, by their
//! post alone, and are refused after the fact.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, ORIGIN, REFERRER_POLICY};

use crate::common::delegate_for_two_days;
use crate::support::notify::{Mail, SmtpSink};
use crate::support::{Stack, WAIT};

/// A stack that e-mails alice, bob, carol and dora through `sink`; with
/// `policy` (an approval policy file's text), if any.
async fn stack_with_mail(sink: &SmtpSink, policy: Option<&str>) -> (Stack, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy_path = dir.path().join("approval-policy.toml");
    let smtp_port = sink.port.to_string();
    let mut server_env = vec![("NOTIFY_EMAIL_BINDING", "notify-email".to_owned())];
    if let Some(policy) = policy {
        std::fs::write(&policy_path, policy).expect("policy file");
        server_env.push(("APPROVAL_POLICY", policy_path.display().to_string()));
    }
    let server_env: Vec<(&str, &str)> = server_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stack = Stack::start_with_env(
        "120s",
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", smtp_port.as_str()),
        ],
        &server_env,
    )
    .await;
    for name in ["alice", "bob", "carol", "dora"] {
        let address = format!("{name}@example.com");
        let (ok, out) = stack.admin(&["user", "email", "--name", name, "--email", &address], "");
        assert!(ok, "{out}");
    }
    (stack, dir)
}

/// The mail to `name` about order `order_id` (the first that names it).
async fn mail_about(sink: &SmtpSink, name: &str, order_id: &str, reminder: bool) -> Mail {
    let subject = if reminder {
        format!("Subject: Reminder: approval needed: order {order_id} ")
    } else {
        format!("Subject: Approval needed: order {order_id} ")
    };
    sink.wait_for_one(&format!("{name}@example.com"), &subject)
        .await
}

/// Opens a link as a browser that never signed in: status, Referrer-Policy, page.
async fn open(stack: &Stack, path: &str) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", stack.base))
        .send()
        .await
        .expect("GET the link");
    let status = response.status().as_u16();
    let policy = response
        .headers()
        .get(REFERRER_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, policy, response.text().await.unwrap_or_default())
}

/// Posts a link's confirmation as the browser does from its page: status and page.
async fn confirm(stack: &Stack, path: &str, comment: &str) -> (u16, String) {
    let body = format!("comment={}", comment.replace(' ', "+"));
    let response = reqwest::Client::new()
        .post(format!("{}{path}", stack.base))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, "null")
        .header("sec-fetch-site", "same-origin")
        .body(body)
        .send()
        .await
        .expect("POST the link");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The labels of an order's timeline, as its requester sees them.
async fn timeline(stack: &Stack, instance_id: &str) -> Vec<String> {
    let (code, detail) = stack
        .get("alice", &format!("/api/orders/{instance_id}"))
        .await;
    assert_eq!(code, 200, "{detail}");
    detail["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|t| t["label"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Issue 25 §1: bob approves from his e-mail. Opening the link (twice, as a scanner
/// would) decides nothing; its post decides once, as bob, recorded as from the e-mail.
/// Then each is refused, with nothing decided: the link posted again (410), the same
/// mail's other link (410), another decider's link after bob decided (410), and a
/// tampered link (404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_link_decides_once_and_is_refused_after_the_fact() {
    let sink = SmtpSink::start(&[]);
    let (stack, _dir) = stack_with_mail(&sink, None).await;
    stack.start_waiting("link-1", 2_500.0).await;
    let bobs = mail_about(&sink, "bob", "link-1", false).await;
    let approve = bobs.action_path("Approve").expect("an Approve link");
    let reject = bobs.action_path("Reject").expect("a Reject link");
    assert!(
        approve.starts_with("/act/al_") && approve != reject,
        "{approve} {reject}"
    );
    let carols = mail_about(&sink, "carol", "link-1", false).await;
    let carols_approve = carols.action_path("Approve").expect("carol's link");
    assert_ne!(
        carols_approve, approve,
        "each recipient gets links of their own"
    );
    // The requester is asked nothing, so has no links.
    assert!(sink.to("alice@example.com").is_empty());

    for _ in 0..2 {
        let (code, policy, page) = open(&stack, &approve).await;
        assert_eq!(code, 200, "{page}");
        assert_eq!(policy, "no-referrer");
        assert!(page.contains("Approve order link-1?"), "{page}");
        assert!(
            page.contains("$2,500.00") && page.contains("alice"),
            "{page}"
        );
        assert!(page.contains("name=\"comment\""), "{page}");
    }
    let row = stack.order("po-link-1").await.expect("the order");
    assert_eq!(
        row["status"], "awaiting_approval",
        "opening decided nothing"
    );

    let (code, page) = confirm(&stack, &approve, "fine by mail").await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Approved by bob"), "{page}");
    let row = stack.order("po-link-1").await.expect("the order");
    assert_eq!(row["status"], "approved");
    assert_eq!(row["decided_by"], "bob");
    let labels = timeline(&stack, "po-link-1").await;
    assert!(
        labels.iter().any(|l| l == "Approved by bob (e-mail)"),
        "{labels:?}"
    );

    for (path, why) in [
        (&approve, "used already"),
        (&reject, "no longer applies"),
        (&carols_approve, "no longer applies"),
    ] {
        let (code, _, page) = open(&stack, path).await;
        assert_eq!(code, 410, "{path}: {page}");
        assert!(
            page.contains(why) && page.contains("href=\"/login\""),
            "{page}"
        );
        let (code, page) = confirm(&stack, path, "again").await;
        assert_eq!(code, 410, "{path}: {page}");
    }
    let mut tampered = approve.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (code, _, page) = open(&stack, &tampered).await;
    assert_eq!(code, 404, "{page}");
    assert!(page.contains("not known"), "{page}");
    assert_eq!(confirm(&stack, &tampered, "x").await.0, 404);
    let (code, _, _) = open(&stack, "/act/not-a-token-at-all").await;
    assert_eq!(code, 404);

    // Nothing after the first post changed the order.
    let row = stack.order("po-link-1").await.expect("the order");
    assert_eq!(row["status"], "approved");
    assert_eq!(row["decided_by"], "bob");
    assert_eq!(row["comment"], "fine by mail");

    // Posts of links count against the client as password checks do: whoever tries
    // link after link is slowed down (30 at once, then one every 2 s).
    let mut limited = None;
    for attempt in 0..40 {
        let (code, page) = confirm(&stack, &format!("/act/al_guess{attempt}"), "").await;
        if code == 429 {
            limited = Some((attempt, page));
            break;
        }
        assert_eq!(code, 404, "{page}");
    }
    let (attempt, page) = limited.expect("a client trying links is held back");
    // The allowance is shared with the password checks this client made above.
    assert!(
        (15..=30).contains(&attempt),
        "held back after {attempt} posts"
    );
    assert!(page.contains("Too many attempts"), "{page}");
}

/// Issue 25 §1: a link decides only while its recipient may. carol decides a
/// director's level only as dora's delegate: her link stops the moment the delegation
/// ends, while dora's own link still decides. Level 1 approved from bob's e-mail shows
/// as such in the timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_stops_when_the_delegation_it_came_under_ends() {
    let sink = SmtpSink::start(&[]);
    let policy = "[[level]]\nrole = \"manager\"\n\n[[level]]\nrole = \"director\"\nfrom = 10000\n";
    let (stack, _dir) = stack_with_mail(&sink, Some(policy)).await;
    let (ok, out) = delegate_for_two_days(&stack, "dora", "carol");
    assert!(ok, "{out}");
    stack.start_waiting("link-2", 20_000.0).await;

    let bobs = mail_about(&sink, "bob", "link-2", false).await;
    let (code, page) = confirm(&stack, &bobs.action_path("Approve").expect("a link"), "").await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("level 1 approved by bob"), "{page}");

    // Level 2, a director's: dora, and carol for her.
    let carols = sink.wait_for_one("carol@example.com", "level 2 of 2").await;
    let doras = sink.wait_for_one("dora@example.com", "level 2 of 2").await;
    let carols_link = carols.action_path("Approve").expect("carol's link");
    assert_eq!(
        open(&stack, &carols_link).await.0,
        200,
        "while she holds dora's"
    );

    let (ok, list) = stack.admin(&["delegation", "list"], "");
    assert!(ok, "{list}");
    let id = list.split_whitespace().next().expect("a delegation's id");
    let (ok, out) = stack.admin(&["delegation", "revoke", "--id", id], "");
    assert!(ok, "{out}");

    let (code, _, page) = open(&stack, &carols_link).await;
    assert_eq!(code, 410, "{page}");
    assert!(page.contains("no longer applies"), "{page}");
    let (code, page) = confirm(&stack, &carols_link, "").await;
    assert_eq!(code, 410, "{page}");
    let row = stack.order("po-link-2").await.expect("the order");
    assert_eq!(row["status"], "awaiting_approval", "carol decided nothing");

    // dora's own link still decides.
    let (code, page) = confirm(&stack, &doras.action_path("Approve").expect("a link"), "").await;
    assert_eq!(code, 200, "{page}");
    let state = stack.wait_for_completion("po-link-2", WAIT).await;
    assert_eq!(
        crate::support::output_status(&state),
        "Approved by bob, dora"
    );
    let labels = timeline(&stack, "po-link-2").await;
    assert!(
        labels
            .iter()
            .any(|l| l == "Level 1 of 2 approved by bob (e-mail)"),
        "{labels:?}"
    );
    assert!(
        labels
            .iter()
            .any(|l| l.ends_with("(e-mail)") && l.contains("dora")),
        "{labels:?}"
    );
}

/// Issue 25 §2: the person an order is assigned to is e-mailed, with links of their
/// own that decide it; the one who assigned it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assignee_is_emailed_with_links_that_decide() {
    let sink = SmtpSink::start(&[]);
    let (stack, _dir) = stack_with_mail(&sink, None).await;
    stack.start_waiting("assign-1", 2_500.0).await;
    mail_about(&sink, "carol", "assign-1", false).await;
    let (code, assigned) = stack
        .post(
            "bob",
            "/api/orders/po-assign-1/assign",
            serde_json::json!({"to": "carol", "comment": "yours"}),
        )
        .await;
    assert_eq!(code, 200, "{assigned}");
    let subject = "Subject: Assigned to you: order assign-1 ";
    let mail = sink.wait_for_one("carol@example.com", subject).await;
    let (code, page) = confirm(&stack, &mail.action_path("Approve").expect("a link"), "").await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Approved by carol"), "{page}");
    assert!(
        !sink
            .to("bob@example.com")
            .iter()
            .any(|m| m.text.contains(subject)),
        "the one who assigned it is not told"
    );
}

/// Issue 25 §3: a comment in the order's thread reaches its other participants by
/// e-mail (the requester and those who decide it), never its author.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_reaches_the_other_participants_by_email() {
    let sink = SmtpSink::start(&[]);
    let (stack, _dir) = stack_with_mail(&sink, None).await;
    stack.start_waiting("talk-1", 2_500.0).await;
    let (code, asked) = stack
        .post(
            "bob",
            "/api/orders/po-talk-1/comments",
            serde_json::json!({"text": "Which vendor?", "question": true}),
        )
        .await;
    assert_eq!(code, 201, "{asked}");
    let told = |name: &str, subject: &'static str| {
        let address = format!("{name}@example.com");
        let sink = &sink;
        async move { sink.wait_for_one(&address, subject).await }
    };
    let to_alice = told("alice", "Subject: Question about order talk-1").await;
    assert!(
        to_alice.decoded().contains("Which vendor?"),
        "{}",
        to_alice.decoded()
    );
    assert!(to_alice.decoded().contains("/orders/po-talk-1"));
    told("carol", "Subject: Question about order talk-1").await;
    told("dora", "Subject: Question about order talk-1").await;

    let (code, answered) = stack
        .post(
            "alice",
            "/api/orders/po-talk-1/comments",
            serde_json::json!({"text": "Acme, as before"}),
        )
        .await;
    assert_eq!(code, 201, "{answered}");
    told("bob", "Subject: Comment on order talk-1").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !sink
            .to("bob@example.com")
            .iter()
            .any(|m| m.text.contains("Question about order talk-1")),
        "the author is not told of his own comment"
    );
    assert!(!sink
        .to("alice@example.com")
        .iter()
        .any(|m| m.text.contains("Comment on order talk-1")));
}
