//! Approval levels: asked in turn, reminded and escalated, and decided by a delegate.

use std::time::Duration;

use serde_json::json;

use crate::common::{decide, delegate_for_two_days};
use crate::support::{self, order, output_status, Stack, WAIT};

/// `who` may not approve order `id`: 403, for the reason `words` name.
async fn refused(stack: &Stack, who: &str, id: &str, words: &str) {
    let (code, answer) = decide(stack, who, id, true).await;
    assert_eq!(code, 403, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| e.contains(words)),
        "{answer}"
    );
}

/// Managers first (`manager_timeout` each), then a director from $10,000.
fn two_levels(manager_timeout: &str) -> String {
    format!(
        "[[level]]\nrole = \"manager\"\ntimeout = \"{manager_timeout}\"\n\
         [[level]]\nrole = \"director\"\nfrom = 10000\ntimeout = \"120s\"\n"
    )
}

/// Issue 13 §2 on the real workflow: levels asked in turn, the director's refused to a
/// manager, four eyes, a rejection at level 2, a timeout at level 1, and a policy
/// changed while an order runs: the order keeps the levels it started with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_levels_run_in_turn_and_an_order_keeps_its_policy() {
    let policy_dir = tempfile::tempdir().expect("temp dir");
    let policy = policy_dir.path().join("approval-policy.toml");
    std::fs::write(&policy, two_levels("20s")).expect("policy file");
    let policy_path = policy.display().to_string();
    let mut stack =
        Stack::start_with_env("120s", &[], &[("APPROVAL_POLICY", policy_path.as_str())]).await;

    // Nobody decides this one: level 1's own timeout ends it.
    stack.start_waiting("lv-late", 12_000.0).await;

    stack.start_waiting("lv-two", 20_000.0).await;
    let (code, first) = decide(&stack, "bob", "lv-two", true).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["status"], "awaiting_approval");
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.contains("now waits for a director")),
        "{first}"
    );
    refused(&stack, "carol", "lv-two", "is for a director").await;
    // Level 1's decision arriving again (a rejection, to be unmistakable) is dropped:
    // the workflow waits at level 2 now.
    stack
        .raise_directly(
            "po-lv-two",
            &json!({"approver_name": "carol", "approved": false, "level": 1}),
        )
        .await;
    let (code, last) = decide(&stack, "dora", "lv-two", true).await;
    assert_eq!(code, 200, "{last}");
    assert_eq!(last["status"], "approved");
    let state = stack.wait_for_completion("po-lv-two", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob, dora");
    let row = stack.wait_for_status("po-lv-two", "approved", WAIT).await;
    assert_eq!(row["decided_by"], "bob, dora");

    // Four eyes: a director may decide the managers' level, but not both.
    stack.start_waiting("lv-eyes", 30_000.0).await;
    assert_eq!(decide(&stack, "dora", "lv-eyes", true).await.0, 200);
    refused(&stack, "dora", "lv-eyes", "four eyes").await;

    stack.start_waiting("lv-no", 15_000.0).await;
    assert_eq!(decide(&stack, "bob", "lv-no", true).await.0, 200);
    let (code, rejected) = decide(&stack, "dora", "lv-no", false).await;
    assert_eq!(code, 200, "{rejected}");
    let state = stack.wait_for_completion("po-lv-no", WAIT).await;
    assert_eq!(output_status(&state), "Rejected by dora");

    // The policy changes (one level for everything) while lv-before waits at level 1.
    stack.start_waiting("lv-before", 20_000.0).await;
    stack.kill_server();
    std::fs::write(&policy, "[[level]]\nrole = \"manager\"\n").expect("policy file");
    stack.start_server().await;
    stack.until_rejoined("po-lv-before").await;
    stack.start_waiting("lv-after", 20_000.0).await;
    let (code, after) = decide(&stack, "bob", "lv-after", true).await;
    assert_eq!(code, 200, "{after}");
    assert_eq!(
        after["status"], "approved",
        "a new order follows the new policy"
    );
    let (code, before) = decide(&stack, "bob", "lv-before", true).await;
    assert_eq!(code, 200, "{before}");
    assert_eq!(
        before["status"], "awaiting_approval",
        "the running order keeps its two levels"
    );
    assert_eq!(decide(&stack, "dora", "lv-before", true).await.0, 200);
    let state = stack.wait_for_completion("po-lv-before", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob, dora");

    let state = stack.wait_for_completion("po-lv-late", WAIT).await;
    assert_eq!(output_status(&state), "Cancelled due to timeout");
}

/// Issue 13 §4 on the real workflow: dora, a director, is away and hands her decisions
/// to carol (the CLI); carol, a manager, decides the directors' level for her, and the
/// workflow's outcome says so. A delegate still never decides her own order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegate_decides_a_directors_level_for_her() {
    let policy_dir = tempfile::tempdir().expect("temp dir");
    let policy = policy_dir.path().join("approval-policy.toml");
    std::fs::write(&policy, two_levels("120s")).expect("policy file");
    let policy_path = policy.display().to_string();
    let stack =
        Stack::start_with_env("120s", &[], &[("APPROVAL_POLICY", policy_path.as_str())]).await;

    stack.start_waiting("dl-1", 20_000.0).await;
    assert_eq!(decide(&stack, "bob", "dl-1", true).await.0, 200);
    refused(&stack, "carol", "dl-1", "is for a director").await;
    let (ok, out) = delegate_for_two_days(&stack, "dora", "carol");
    assert!(ok, "{out}");
    let (code, last) = decide(&stack, "carol", "dl-1", true).await;
    assert_eq!(code, 200, "{last}");
    let state = stack.wait_for_completion("po-dl-1", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob, carol for dora");
    let row = stack.wait_for_status("po-dl-1", "approved", WAIT).await;
    assert_eq!(row["decided_by"], "bob, carol for dora");

    // carol's own order: dora's decisions in her hands do not make it hers to decide.
    let (code, started) = stack
        .post(
            "carol",
            "/start-purchase-order",
            order("dl-own", 20_000.0, 1),
        )
        .await;
    assert_eq!(code, 200, "{started}");
    stack
        .wait_for_status("po-dl-own", "awaiting_approval", WAIT)
        .await;
    assert_eq!(decide(&stack, "bob", "dl-own", true).await.0, 200);
    refused(&stack, "carol", "dl-own", "your own order").await;
}

/// Issue 13 §3 on the real workflow: a level's reminder goes out before its deadline
/// (timeline and e-mail); a managers' level that escalates is asked of a director when
/// nobody decided in time, and a manager's decision that arrives after that is dropped;
/// a director's level, with nobody above, times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_reminds_and_then_escalates_to_a_director() {
    let sink = support::notify::SmtpSink::start(&[]);
    let policy_dir = tempfile::tempdir().expect("temp dir");
    let policy = policy_dir.path().join("approval-policy.toml");
    std::fs::write(
        &policy,
        "[[level]]\nrole = \"manager\"\ntimeout = \"8s\"\nreminder = \"half\"\n\
         on_timeout = \"escalate\"\n\
         [[level]]\nrole = \"director\"\nfrom = 10000\ntimeout = \"4s\"\n",
    )
    .expect("policy file");
    let (policy_path, smtp_port) = (policy.display().to_string(), sink.port.to_string());
    let stack = Stack::start_with_env(
        "120s",
        &[
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", smtp_port.as_str()),
        ],
        &[
            ("APPROVAL_POLICY", policy_path.as_str()),
            ("NOTIFY_EMAIL_BINDING", "notify-email"),
        ],
    )
    .await;
    for name in ["bob", "dora"] {
        let address = format!("{name}@example.com");
        let (ok, out) = stack.admin(&["user", "email", "--name", name, "--email", &address], "");
        assert!(ok, "{out}");
    }

    stack.start_waiting("esc-1", 2_000.0).await;
    // Half-way (4 s): bob is reminded.
    let to_bob = sink.wait_for("bob@example.com", 2, WAIT).await;
    assert!(
        to_bob[0]
            .text
            .contains("Subject: Approval needed: order esc-1"),
        "{}",
        to_bob[0].text
    );
    assert!(
        to_bob[1]
            .text
            .contains("Subject: Reminder: approval needed: order esc-1"),
        "{}",
        to_bob[1].text
    );
    // At 8 s nobody has decided: a director is asked instead.
    let db = backend::store::db::open(stack.database_url())
        .await
        .expect("the read model");
    let labels = || async {
        backend::store::read_model::timeline(&db, "po-esc-1")
            .await
            .expect("reads")
            .into_iter()
            .map(|e| e.label)
            .collect::<Vec<String>>()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while !labels()
        .await
        .iter()
        .any(|l| l.contains("asked a director instead"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never escalated: {:?}",
            labels().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    refused(&stack, "bob", "esc-1", "is for a director").await;
    // A managers' decision claimed before the escalation, arriving after it, is dropped.
    stack
        .raise_directly(
            "po-esc-1",
            &json!({"approver_name": "bob", "approved": true, "level": 1, "role": "manager"}),
        )
        .await;
    // dora was asked with the managers (a director may decide their level), reminded
    // with them, and asked again on the escalation.
    let to_dora = sink.wait_for("dora@example.com", 3, WAIT).await;
    let subjects = |prefix: &str| {
        to_dora
            .iter()
            .filter(|m| m.text.contains(&format!("Subject: {prefix}: order esc-1")))
            .count()
    };
    assert_eq!(
        (
            subjects("Approval needed"),
            subjects("Reminder: approval needed")
        ),
        (2, 1)
    );
    let (code, decided) = decide(&stack, "dora", "esc-1", true).await;
    assert_eq!(code, 200, "{decided}");
    let state = stack.wait_for_completion("po-esc-1", WAIT).await;
    assert_eq!(output_status(&state), "Approved by dora");
    let labels = labels().await;
    assert!(
        labels
            .iter()
            .any(|l| l.starts_with("Reminder sent: a manager decides by")),
        "{labels:?}"
    );
    assert!(
        labels
            .iter()
            .any(|l| l == "Nobody decided in time: asked a director instead (level 1 of 1)"),
        "{labels:?}"
    );
    assert_eq!(
        to_bob.len(),
        sink.to("bob@example.com").len(),
        "nothing more to bob"
    );

    // A directors' level has nobody above: its timeout ends the order.
    stack.start_waiting("esc-2", 20_000.0).await;
    assert_eq!(decide(&stack, "bob", "esc-2", true).await.0, 200);
    let state = stack.wait_for_completion("po-esc-2", WAIT).await;
    assert_eq!(output_status(&state), "Cancelled due to timeout");
}
