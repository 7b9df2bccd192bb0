//! Decisions racing each other, a cancellation and the timeout: one wins, the others
//! hear who.

use std::time::Duration;

use serde_json::json;

use crate::support::{order, output_status, Stack, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_simultaneous_decisions_one_wins() {
    let stack = Stack::start("120s").await;
    for round in 0..3 {
        let id = format!("race-{round}");
        let instance = format!("po-{id}");
        stack.start_waiting(&id, 2000.0).await;
        let path = format!("/signal-approval/{instance}");
        let (a, b) = tokio::join!(
            stack.post(
                "bob",
                &path,
                json!({"approver_name": "bob", "approved": true})
            ),
            stack.post(
                "carol",
                &path,
                json!({"approver_name": "carol", "approved": false})
            ),
        );
        let mut codes = [a.0, b.0];
        codes.sort();
        assert_eq!(codes, [200, 409], "{a:?} {b:?}");
        let (winner, loser) = if a.0 == 200 { (a.1, b.1) } else { (b.1, a.1) };
        assert_eq!(loser["decided_by"], winner["decided_by"], "{loser}");
        let state = stack.wait_for_completion(&instance, WAIT).await;
        let expected = if winner["decided_by"] == "bob" {
            "Approved by bob"
        } else {
            "Rejected by carol"
        };
        assert_eq!(output_status(&state), expected);
    }
}

/// Approval, rejection and the requester's cancellation at once, then a cancellation
/// against the approval timer: each time exactly one wins, the workflow ends the way
/// the winner's answer said, and every loser's 409 names the winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_cancellation_and_timeout_race_and_one_wins() {
    let stack = Stack::start("8s").await;
    let mut winners = std::collections::BTreeSet::new();
    for round in 0..3 {
        let id = format!("three-way-{round}");
        let instance = format!("po-{id}");
        stack.start_waiting(&id, 2000.0).await;
        let decide = format!("/signal-approval/{instance}");
        let cancel = format!("/api/orders/{instance}/cancel");
        let answers = tokio::join!(
            stack.post("bob", &decide, json!({"approved": true})),
            stack.post("carol", &decide, json!({"approved": false})),
            stack.post("alice", &cancel, json!({"comment": "changed my mind"})),
        );
        let answers = [answers.0, answers.1, answers.2];
        // 202: won, the workflow not confirming within the server's wait.
        let won: Vec<_> = answers
            .iter()
            .filter(|a| matches!(a.0, 200 | 202))
            .collect();
        assert_eq!(won.len(), 1, "{answers:?}");
        let winner = &won[0].1;
        for (code, answer) in &answers {
            if !matches!(code, 200 | 202) {
                assert_eq!(*code, 409, "{answer}");
                assert_eq!(answer["decided_by"], winner["decided_by"], "{answer}");
            }
        }
        let expected = match winner["status"].as_str() {
            Some("approved") => "Approved by bob",
            Some("rejected") => "Rejected by carol",
            Some("cancelled") => "Cancelled by alice",
            other => panic!("unexpected winner status {other:?}"),
        };
        winners.insert(expected);
        let state = stack.wait_for_completion(&instance, WAIT).await;
        assert_eq!(output_status(&state), expected);
    }
    eprintln!("three-way races won by: {winners:?}");

    // Cancelling at the deadline: the answer and the outcome agree, whichever won.
    let waiting = stack.start_waiting("at-deadline", 2000.0).await;
    let deadline = chrono::DateTime::parse_from_rfc3339(
        waiting["approval_deadline"].as_str().unwrap_or_default(),
    )
    .expect("deadline");
    let until = (deadline.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(until.saturating_sub(Duration::from_millis(30))).await;
    let (code, answer) = stack
        .post("alice", "/api/orders/po-at-deadline/cancel", json!({}))
        .await;
    let state = stack.wait_for_completion("po-at-deadline", WAIT).await;
    match code {
        200 | 202 => assert_eq!(output_status(&state), "Cancelled by alice", "{answer}"),
        409 => assert_eq!(
            output_status(&state),
            "Cancelled due to timeout",
            "{answer}"
        ),
        other => panic!("cancel at the deadline: {other} {answer}"),
    }
    eprintln!("cancel at the deadline: {code}");

    // Once the timer has won, a cancellation hears so.
    let (code, refused) = stack
        .post("alice", "/api/orders/po-at-deadline/cancel", json!({}))
        .await;
    assert_eq!(code, 409, "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_cancels_and_late_approval_is_refused() {
    let stack = Stack::start("3s").await;
    // Scenario 3 of the seed: nobody answers.
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("order789", 700.0, 2),
        )
        .await;
    assert_eq!(code, 200);
    let waiting = stack
        .wait_for_status("po-order789", "awaiting_approval", WAIT)
        .await;
    let created =
        chrono::DateTime::parse_from_rfc3339(waiting["created_at"].as_str().unwrap_or_default())
            .expect("created_at");
    let deadline = chrono::DateTime::parse_from_rfc3339(
        waiting["approval_deadline"].as_str().unwrap_or_default(),
    )
    .expect("deadline");
    let window = (deadline - created).num_milliseconds();
    assert!(
        (2_000..=4_000).contains(&window),
        "deadline {window} ms after creation"
    );

    let state = stack.wait_for_completion("po-order789", WAIT).await;
    assert_eq!(output_status(&state), "Cancelled due to timeout");
    stack
        .wait_for_status("po-order789", "timed_out", WAIT)
        .await;

    let (code, refused) = stack
        .post(
            "bob",
            "/signal-approval/po-order789",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(refused["status"], "timed_out");
    let (_, state) = stack.get("carol", "/status/po-order789").await;
    assert_eq!(output_status(&state), "Cancelled due to timeout");
}
