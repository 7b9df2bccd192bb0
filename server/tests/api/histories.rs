//! Every path through the orchestration, run on the real daprd, read back through
//! `server order history --json` (daprd's history API) and replayed against this
//! build's orchestration code. With `APPROVALS_RECORD_HISTORIES=DIR` the histories are
//! also written to DIR as replay fixtures (`scripts/record-histories.sh`), which
//! `backend`'s replay test then holds every later build to.

use std::path::PathBuf;
use std::time::Duration;

use backend::workflow::history::{Build, Fixture, Recorded};
use backend::workflow::replay;
use serde_json::json;

use crate::common::{decide, delegate_for_two_days};
use crate::support::{Stack, WAIT};

/// `instance_id`'s history from the CLI, replayed; with a recording directory, written.
async fn replays(stack: &Stack, path: &str, instance_id: &str) -> Recorded {
    stack.wait_for_completion(instance_id, WAIT).await;
    let (ok, out) = stack.admin(&["order", "history", instance_id, "--json"], "");
    assert!(ok, "{out}");
    let recorded: Recorded = serde_json::from_str(&out).expect("the history as JSON");
    let events = recorded.history().expect("fixture events decode");
    let turns = replay::replay(&replay::this_build(), instance_id, &events)
        .await
        .unwrap_or_else(|d| panic!("{path}: {d}\n{}", recorded.steps.join("\n")));
    assert!(turns >= 1, "{path}: no turn recorded");
    // The readable form lists the same events.
    let (ok, lines) = stack.admin(&["order", "history", instance_id], "");
    assert!(ok, "{lines}");
    assert_eq!(lines.lines().count(), events.len(), "{lines}");

    if let Ok(dir) = std::env::var("APPROVALS_RECORD_HISTORIES") {
        let fixture = Fixture {
            path: path.to_owned(),
            recorded_with: Build {
                app: std::env::var("APPROVALS_RECORDED_APP").unwrap_or_else(|_| "unknown".into()),
                daprd: stack.daprd_version().await,
                durabletask: "dapr-durabletask 0.0.4".into(),
            },
            recorded: recorded.clone(),
        };
        let file = PathBuf::from(dir).join(format!("{path}.json"));
        let text = serde_json::to_string_pretty(&fixture).expect("fixture JSON");
        std::fs::write(&file, text + "\n").expect("write the fixture");
        eprintln!("recorded {}", file.display());
    }
    recorded
}

/// The seed's single level: auto-approved, approved, rejected, timed out, cancelled,
/// and a decision raced by a cancellation raised straight into daprd (the app's own
/// claim lets only one through; the workflow must take the first and drop the other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_of_the_seeds_level_replays_on_this_build() {
    let stack = Stack::start("4s").await;

    let (code, started) = stack
        .post(
            "alice",
            "/start-purchase-order",
            crate::support::order("h-auto", 100.0, 1),
        )
        .await;
    assert_eq!(code, 200, "{started}");
    replays(&stack, "auto-approved", "po-h-auto").await;

    stack.start_waiting("h-approved", 2_000.0).await;
    assert_eq!(decide(&stack, "bob", "h-approved", true).await.0, 200);
    replays(&stack, "approved", "po-h-approved").await;

    stack.start_waiting("h-rejected", 2_000.0).await;
    assert_eq!(decide(&stack, "bob", "h-rejected", false).await.0, 200);
    replays(&stack, "rejected", "po-h-rejected").await;

    stack.start_waiting("h-cancelled", 2_000.0).await;
    let (code, answer) = stack
        .post("alice", "/api/orders/po-h-cancelled/cancel", json!({}))
        .await;
    assert_eq!(code, 200, "{answer}");
    replays(&stack, "cancelled", "po-h-cancelled").await;

    stack.start_waiting("h-race", 2_000.0).await;
    let cancel = json!({"approver_name": "alice", "approved": false, "cancelled": true});
    let approve = json!({"approver_name": "bob", "approved": true});
    tokio::join!(
        stack.raise_directly("po-h-race", &approve),
        stack.raise_directly("po-h-race", &cancel),
    );
    let race = replays(&stack, "raced-by-cancellation", "po-h-race").await;
    assert_eq!(
        race.steps
            .iter()
            .filter(|s| s.contains("event approval_event"))
            .count(),
        2,
        "both events are in the history: {:#?}",
        race.steps
    );

    stack.start_waiting("h-late", 2_000.0).await;
    replays(&stack, "timed-out", "po-h-late").await;

    // Created again by a restore into an empty Dapr state (`server restore
    // --workflows-lost`): it takes the order up where it waited, with its deadline.
    let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
    stack
        .start_directly(
            "po-h-resumed",
            &json!({"order_id": "h-resumed", "cost": 2000.0, "product": "Widget", "quantity": 1,
                    "approval_timeout_ms": 4000, "requested_by": "alice",
                    "resume": {"level": 1, "role": "manager", "deadline_ms": deadline}}),
        )
        .await;
    let row = stack
        .wait_for_status("po-h-resumed", "awaiting_approval", WAIT)
        .await;
    assert_eq!(
        row["approval_deadline"],
        json!(chrono::DateTime::from_timestamp_millis(deadline)
            .expect("a time")
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        "{row}"
    );
    assert_eq!(decide(&stack, "bob", "h-resumed", true).await.0, 200);
    replays(&stack, "resumed-after-restore", "po-h-resumed").await;
}

/// A policy's levels: two levels in turn, a level escalated to a director, and a
/// director's level decided by her delegate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_of_a_policys_levels_replays_on_this_build() {
    let policy_dir = tempfile::tempdir().expect("temp dir");
    let policy = policy_dir.path().join("approval-policy.toml");
    std::fs::write(
        &policy,
        "[[level]]\nrole = \"manager\"\ntimeout = \"5s\"\non_timeout = \"escalate\"\n\
         [[level]]\nrole = \"director\"\nfrom = 10000\ntimeout = \"120s\"\n",
    )
    .expect("policy file");
    let policy_path = policy.display().to_string();
    let stack =
        Stack::start_with_env("120s", &[], &[("APPROVAL_POLICY", policy_path.as_str())]).await;

    stack.start_waiting("h-two", 20_000.0).await;
    assert_eq!(decide(&stack, "bob", "h-two", true).await.0, 200);
    assert_eq!(decide(&stack, "dora", "h-two", true).await.0, 200);
    replays(&stack, "two-levels", "po-h-two").await;

    stack.start_waiting("h-escalated", 2_000.0).await;
    let db = backend::store::db::open(stack.database_url())
        .await
        .expect("the read model");
    let give_up = std::time::Instant::now() + WAIT;
    loop {
        let row = backend::store::read_model::get(&db, "po-h-escalated")
            .await
            .expect("reads")
            .expect("the order");
        if row.level_role == Some(domain::Role::Director) {
            break;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "never escalated: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(decide(&stack, "dora", "h-escalated", true).await.0, 200);
    replays(&stack, "escalated", "po-h-escalated").await;

    stack.start_waiting("h-delegate", 20_000.0).await;
    assert_eq!(decide(&stack, "bob", "h-delegate", true).await.0, 200);
    let (ok, out) = delegate_for_two_days(&stack, "dora", "carol");
    assert!(ok, "{out}");
    assert_eq!(decide(&stack, "carol", "h-delegate", true).await.0, 200);
    replays(&stack, "decided-by-a-delegate", "po-h-delegate").await;
}
