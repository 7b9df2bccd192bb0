//! The seed's scenarios and the races around them, against a real daprd, a real SQLite
//! file and our real server binary.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{order, output_status, Stack, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_1_approval() {
    let stack = Stack::start("120s").await;
    let (code, started) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("order123", 500.0, 2),
        )
        .await;
    assert_eq!(code, 200, "{started}");
    assert_eq!(started["instance_id"], "po-order123");
    let waiting = stack
        .wait_for_status("po-order123", "awaiting_approval", WAIT)
        .await;
    assert!(waiting["approval_deadline"].is_string(), "{waiting}");
    assert_eq!(waiting["total"], 1000.0);
    let (code, decided) = stack
        .post(
            "bob",
            "/signal-approval/po-order123",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 200, "{decided}");
    assert_eq!(decided["status"], "approved");
    let state = stack.wait_for_completion("po-order123", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob");
    assert_eq!(state["name"], "PurchaseOrderApprovalWorkflow");
    assert!(state["serialized_input"]
        .as_str()
        .is_some_and(|s| s.contains("order123")));
    let row = stack.wait_for_status("po-order123", "approved", WAIT).await;
    assert_eq!(row["decided_by"], "bob");

    // A second decision on a decided order is refused with its status.
    let (code, refused) = stack
        .post(
            "carol",
            "/signal-approval/po-order123",
            json!({"approver_name": "carol", "approved": false}),
        )
        .await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(refused["status"], "approved");

    // A repeated order id is a conflict, and the original order is untouched.
    let (code, refused) = stack
        .post("alice", "/start-purchase-order", order("order123", 1.0, 1))
        .await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(
        stack.order("po-order123").await.expect("row")["status"],
        "approved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_2_rejection() {
    let stack = Stack::start("120s").await;
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("order456", 600.0, 2),
        )
        .await;
    assert_eq!(code, 200);
    let (code, decided) = stack
        .post(
            "carol",
            "/signal-approval/po-order456",
            json!({"approver_name": "carol", "approved": false}),
        )
        .await;
    assert_eq!(code, 200, "{decided}");
    let state = stack.wait_for_completion("po-order456", WAIT).await;
    assert_eq!(output_status(&state), "Rejected by carol");
    stack.wait_for_status("po-order456", "rejected", WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1000_dollar_threshold_and_unknown_instances() {
    let stack = Stack::start("120s").await;
    // Below $1000: approved without anyone, and the approval endpoint says so.
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("small-1", 999.99, 1),
        )
        .await;
    assert_eq!(code, 200);
    let state = stack.wait_for_completion("po-small-1", WAIT).await;
    assert_eq!(output_status(&state), "Auto-Approved");
    stack
        .wait_for_status("po-small-1", "auto_approved", WAIT)
        .await;
    let (code, refused) = stack
        .post(
            "bob",
            "/signal-approval/po-small-1",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(refused["status"], "auto_approved");

    // Exactly $1000 needs approval (10,000 × $0.10 too: money is exact).
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("dimes", 0.1, 10_000),
        )
        .await;
    assert_eq!(code, 200);
    stack
        .wait_for_status("po-dimes", "awaiting_approval", WAIT)
        .await;
    let (code, page) = stack
        .get("carol", "/api/orders?status=awaiting_approval")
        .await;
    assert_eq!(code, 200);
    assert_eq!(page["orders"][0]["instance_id"], "po-dimes", "{page}");
    assert_eq!(page["total"], 1);

    // Unknown instances, as daprd reports them.
    let (code, body) = stack.get("carol", "/status/po-nope").await;
    assert_eq!(code, 404, "{body}");
    let (code, body) = stack
        .post(
            "bob",
            "/signal-approval/po-nope",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 404, "{body}");

    // Swagger UI is served from the binary.
    let ui = stack
        .http
        .get(format!("{}/docs/", stack.base))
        .send()
        .await
        .expect("docs");
    assert_eq!(ui.status().as_u16(), 200);
    assert!(ui.text().await.unwrap_or_default().contains("swagger"));
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_survive_a_server_crash() {
    let mut stack = Stack::start("12s").await;
    for id in ["crash-approve", "crash-timeout"] {
        stack.start_waiting(id, 5000.0).await;
    }
    stack.kill_server();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.start_server().await;

    // Until the restarted worker has rejoined daprd, a decision may be told "not
    // reachable; nothing was changed": a client tries again, as that answer says.
    let give_up = std::time::Instant::now() + WAIT;
    let (code, decided) = loop {
        let (code, decided) = stack
            .post(
                "bob",
                "/signal-approval/po-crash-approve",
                json!({"approver_name": "bob", "approved": true}),
            )
            .await;
        let nothing_changed = decided["error"]
            .as_str()
            .is_some_and(|m| m.contains("nothing was changed"));
        if code != 503 || !nothing_changed || std::time::Instant::now() > give_up {
            break (code, decided);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(code, 200, "{decided}");
    let state = stack.wait_for_completion("po-crash-approve", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob");

    // Its timer was set before the crash and still fires after it.
    let state = stack.wait_for_completion("po-crash-timeout", WAIT).await;
    assert_eq!(output_status(&state), "Cancelled due to timeout");
    stack
        .wait_for_status("po-crash-timeout", "timed_out", WAIT)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_down_gives_503_and_records_nothing() {
    let mut stack = Stack::start("120s").await;
    stack.start_waiting("before", 5000.0).await;
    stack.stop_sidecar();

    let (code, error) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("while-down", 10.0, 1),
        )
        .await;
    assert_eq!(code, 503, "{error}");
    assert!(
        error["error"].as_str().is_some_and(|m| m.contains("Dapr")),
        "{error}"
    );
    let (code, error) = stack
        .post(
            "bob",
            "/signal-approval/po-before",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 503, "{error}");
    let (code, _) = stack.get("carol", "/status/po-before").await;
    assert_eq!(code, 503);

    let (_, page) = stack.get("carol", "/api/orders").await;
    assert_eq!(
        page["total"], 1,
        "the failed start left nothing behind: {page}"
    );
    let row = stack.order("po-before").await.expect("row");
    assert_eq!(row["status"], "awaiting_approval");
    assert!(
        row["decided_by"].is_null(),
        "the failed decision was released: {row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_roles_and_the_audit_trail() {
    let stack = Stack::start("120s").await;
    stack.start_waiting("auth-1", 3000.0).await;
    let row = stack.order("po-auth-1").await.expect("row");
    assert_eq!(row["requested_by"], "alice");
    let approve = json!({"approved": true});

    // No credentials, a wrong password, an unknown token: 401 with a challenge.
    let response = stack
        .http
        .post(format!("{}/start-purchase-order", stack.base))
        .json(&order("anon", 5.0, 1))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let wrong = stack
        .http
        .get(format!("{}/api/orders", stack.base))
        .basic_auth("bob", Some("not-the-password"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status().as_u16(), 401);
    let (code, _) = stack.get("apv_not-a-token", "/api/orders").await;
    assert_eq!(code, 401);
    let (code, _) = stack.get("", "/status/po-auth-1").await;
    assert_eq!(code, 401);

    // A requester cannot decide; a manager cannot claim another name or decide their own.
    let (code, body) = stack
        .post("alice", "/signal-approval/po-auth-1", approve.clone())
        .await;
    assert_eq!(code, 403, "{body}");
    let (code, body) = stack
        .post(
            "bob",
            "/signal-approval/po-auth-1",
            json!({"approver_name": "carol", "approved": true}),
        )
        .await;
    assert_eq!(code, 403, "{body}");
    let (code, _) = stack
        .post("bob", "/start-purchase-order", order("bobs-own", 3000.0, 1))
        .await;
    assert_eq!(code, 200);
    stack
        .wait_for_status("po-bobs-own", "awaiting_approval", WAIT)
        .await;
    let (code, body) = stack
        .post("bob", "/signal-approval/po-bobs-own", approve.clone())
        .await;
    assert_eq!(code, 403, "{body}");

    // Accounts and tokens from the command line.
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "dave", "--role", "manager"],
        "dave-password\n",
    );
    assert!(ok, "{out}");
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "dave", "--role", "manager"],
        "dave-password\n",
    );
    assert!(!ok, "a second dave must be refused: {out}");
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "eve", "--role", "boss"],
        "whatever-pass\n",
    );
    assert!(
        !ok && out.contains("unknown role") && out.contains("director"),
        "{out}"
    );
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "dana", "--role", "director"],
        "danas-password\n",
    );
    assert!(ok && out.contains("added dana (director)"), "{out}");
    let (ok, out) = stack.admin(
        &[
            "user",
            "add",
            "--name",
            "erin",
            "--role",
            "requester",
            "--email",
            "erin@example",
        ],
        "erins-password\n",
    );
    assert!(!ok && out.contains("the domain needs a dot"), "{out}");
    let (ok, out) = stack.admin(
        &[
            "user",
            "email",
            "--name",
            "dave",
            "--email",
            "dave@example.com",
        ],
        "",
    );
    assert!(ok, "{out}");
    let (ok, out) = stack.admin(&["user", "email", "--name", "nobody", "--clear"], "");
    assert!(!ok && out.contains("No user named"), "{out}");
    let (ok, out) = stack.admin(&["user", "list"], "");
    assert!(ok && out.contains("dave") && out.contains("alice"), "{out}");
    assert!(out.contains("dave@example.com"), "{out}");
    assert!(
        !out.contains("erin"),
        "a refused address adds no account: {out}"
    );
    // Out of office from the command line (issue 13 §4).
    let (ok, out) = delegate_for_two_days(&stack, "dora", "carol");
    assert!(ok && out.contains("carol decides for dora"), "{out}");
    let (ok, out) = delegate_for_two_days(&stack, "dora", "alice");
    assert!(!ok && out.contains("alice is a requester"), "{out}");
    let (ok, out) = stack.admin(&["delegation", "list"], "");
    assert!(ok && out.contains("carol decides for dora"), "{out}");
    let id = out.split_whitespace().next().expect("an id").to_owned();
    let (ok, out) = stack.admin(&["delegation", "revoke", "--id", &id], "");
    assert!(
        ok && out.contains(&format!("ended delegation {id}")),
        "{out}"
    );
    let (ok, out) = stack.admin(&["delegation", "list"], "");
    assert!(ok && !out.contains("carol decides for dora"), "{out}");
    let (ok, out) = stack.admin(&["token", "create", "--user", "dave"], "");
    assert!(ok, "{out}");
    let token = out
        .lines()
        .find(|l| l.starts_with("apv_"))
        .expect("token line")
        .to_owned();
    let (code, decided) = stack
        .post(
            &token,
            "/signal-approval/po-auth-1",
            json!({"approved": true, "comment": "Budget ok"}),
        )
        .await;
    assert_eq!(code, 200, "{decided}");
    let row = stack.wait_for_status("po-auth-1", "approved", WAIT).await;
    assert_eq!(row["decided_by"], "dave");
    assert_eq!(row["comment"], "Budget ok");
    let (ok, out) = stack.admin(&["token", "revoke", "--id", "1"], "");
    assert!(ok, "{out}");
    let (code, _) = stack.get(&token, "/api/orders").await;
    assert_eq!(code, 401, "a revoked token no longer works");
    let (ok, out) = stack.admin(&["user", "remove", "--name", "dave"], "");
    assert!(ok, "{out}");

    // Every attempt is in the audit trail, refused ones with their reason.
    // The audit trail has no reader in the app: the test reads the table.
    let db = backend::store::db::open(stack.database_url())
        .await
        .expect("open the read model");
    const AUDIT: &str =
        "SELECT instance_id, actor, accepted, reason FROM decision_audit ORDER BY id";
    let rows: Vec<(String, String, bool, Option<String>)> = match &db {
        backend::Db::Sqlite(db) => sqlx::query_as(AUDIT).fetch_all(db).await,
        backend::Db::Postgres(db) => sqlx::query_as(AUDIT).fetch_all(db).await,
    }
    .expect("audit rows");
    let summary: Vec<_> = rows
        .iter()
        .map(|(i, a, ok, _)| (i.as_str(), a.as_str(), *ok))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("po-auth-1", "alice", false),
            ("po-auth-1", "bob", false),
            ("po-bobs-own", "bob", false),
            ("po-auth-1", "dave", true),
        ],
        "{rows:?}"
    );
    assert!(
        rows[2]
            .3
            .as_deref()
            .is_some_and(|r| r.contains("your own order")),
        "{rows:?}"
    );
}

/// A frozen sidecar (SIGSTOP) holds nothing forever: the decision answers within its
/// deadlines, says it is not confirmed rather than "nothing changed", keeps its claim
/// against a second manager, and once daprd runs again the reconciler sees it through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_sidecar_delays_a_decision_but_never_loses_or_hangs_it() {
    let stack = Stack::start("300s").await;
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("frozen-1", 700.0, 2),
        )
        .await;
    assert_eq!(code, 200);
    stack
        .wait_for_status("po-frozen-1", "awaiting_approval", WAIT)
        .await;

    stack.signal_daprd("STOP");
    let started = std::time::Instant::now();
    let (code, body) = stack
        .post(
            "bob",
            "/signal-approval/po-frozen-1",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    let took = started.elapsed();
    let (second, refused) = stack
        .post(
            "carol",
            "/signal-approval/po-frozen-1",
            json!({"approved": false}),
        )
        .await;
    stack.signal_daprd("CONT");

    assert_eq!(code, 202, "{body}");
    assert_eq!(body["confirmed"], false, "{body}");
    assert!(took < Duration::from_secs(40), "answered after {took:?}");
    assert_eq!(second, 409, "{refused}");
    assert_eq!(refused["decided_by"], "bob", "{refused}");

    let row = stack
        .wait_for_status("po-frozen-1", "approved", Duration::from_secs(60))
        .await;
    assert_eq!(row["decided_by"], "bob");
    let state = stack.wait_for_completion("po-frozen-1", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob");
}

/// daprd answers no API call without its token: a local process that knows its ports
/// can neither approve an order behind the manager's back nor read it, over gRPC or
/// HTTP. Only our server, through its private relay, holds the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidecar_refuses_calls_without_its_token() {
    use std::os::unix::fs::PermissionsExt;
    let stack = Stack::start("120s").await;
    let mode = std::fs::metadata(stack.dapr_api_token_file())
        .expect("the token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is readable by others");

    let (code, started) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("backdoor", 2000.0, 1),
        )
        .await;
    assert_eq!(code, 200, "{started}");
    stack
        .wait_for_status("po-backdoor", "awaiting_approval", WAIT)
        .await;

    // The requester approving her own order straight through daprd's gRPC API.
    let client = dapr::workflow::WorkflowClient::new_with_address(stack.dapr_grpc_address())
        .await
        .expect("daprd's port still takes connections");
    let forged = dapr::workflow::EventOptions::new()
        .try_with_payload(json!({"approver_name": "alice", "approved": true}))
        .expect("payload");
    let refused = client
        .scheduling_client()
        .raise_event("po-backdoor", "approval_event", forged)
        .await
        .expect_err("a raise without the token is refused");
    assert!(
        refused
            .to_string()
            .contains("valid authentication credentials"),
        "{refused}"
    );
    let refused = client
        .scheduling_client()
        .fetch_workflow_metadata("po-backdoor", dapr::workflow::FetchOptions::new())
        .await
        .expect_err("a read without the token is refused");
    assert!(
        refused
            .to_string()
            .contains("valid authentication credentials"),
        "{refused}"
    );

    // And through its HTTP API.
    let dapr_http = format!(
        "http://127.0.0.1:{}/v1.0/workflows/dapr",
        stack.dapr_http_port
    );
    let raise = stack
        .http
        .post(format!("{dapr_http}/po-backdoor/raiseEvent/approval_event"))
        .json(&json!({"approver_name": "alice", "approved": true}))
        .send()
        .await
        .expect("daprd answers");
    assert_eq!(raise.status(), 401);
    let read = stack
        .http
        .get(format!("{dapr_http}/po-backdoor"))
        .send()
        .await
        .expect("daprd answers");
    assert_eq!(read.status(), 401);

    // Nothing was decided: the order still waits, and its manager's decision counts.
    let waiting = stack.order("po-backdoor").await.expect("the order");
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting}");
    let (code, decided) = stack
        .post(
            "bob",
            "/signal-approval/po-backdoor",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 200, "{decided}");
    let state = stack.wait_for_completion("po-backdoor", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob");
}

/// The read model locked for 70 s — longer than the activities once retried (about
/// 58 s with SQLite's 10 s busy wait) — delays the outcome but never fails the
/// workflow: the timeout is recorded once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_read_model_delays_an_outcome_but_never_fails_it() {
    use sqlx::Connection;
    let stack = Stack::start("4s").await;
    stack.start_waiting("locked", 2000.0).await;

    // The write lock: SQLite's one writer, or on PostgreSQL the orders table locked
    // against everything (each statement there gives up after 10 s, as SQLite's busy
    // wait does).
    let url = stack.database_url();
    let release = if backend::store::db::is_postgres(url) {
        let mut lock = sqlx::PgConnection::connect(url)
            .await
            .expect("a connection of our own");
        sqlx::raw_sql("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
            .execute(&mut lock)
            .await
            .expect("the table lock");
        tokio::time::sleep(Duration::from_secs(70)).await;
        sqlx::query("ROLLBACK").execute(&mut lock).await.map(drop)
    } else {
        let mut lock = sqlx::SqliteConnection::connect(url)
            .await
            .expect("a connection of our own");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut lock)
            .await
            .expect("the write lock");
        // The timer fires at 4 s; recording the timeout meets the lock.
        tokio::time::sleep(Duration::from_secs(70)).await;
        sqlx::query("ROLLBACK").execute(&mut lock).await.map(drop)
    };
    release.expect("release");

    let state = stack
        .wait_for_completion("po-locked", Duration::from_secs(120))
        .await;
    assert_eq!(output_status(&state), "Cancelled due to timeout");
    let row = stack
        .wait_for_status("po-locked", "timed_out", Duration::from_secs(30))
        .await;
    assert!(row["decided_by"].is_null(), "{row}");
}

/// daprd purges a finished workflow after its retention time, and `/status` still
/// answers for the order, in the seed's shape, from the read model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_outlives_the_workflow_state_daprd_purges() {
    let stack = Stack::start_with("120s", &[("WORKFLOW_RETENTION", "1s")]).await;
    let (code, started) = stack
        .post("alice", "/start-purchase-order", order("purged", 10.0, 1))
        .await;
    assert_eq!(code, 200, "{started}");
    stack
        .wait_for_status("po-purged", "auto_approved", WAIT)
        .await;
    assert_eq!(stack.dapr_workflow("po-purged").await, 200, "daprd has it");

    let deadline = std::time::Instant::now() + WAIT;
    while stack.dapr_workflow("po-purged").await == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "daprd still holds the finished workflow after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let (code, state) = stack.get("alice", "/status/po-purged").await;
    assert_eq!(code, 200, "{state}");
    assert_eq!(state["runtime_status"], "COMPLETED");
    assert_eq!(state["name"], "PurchaseOrderApprovalWorkflow");
    assert_eq!(output_status(&state), "Auto-Approved");
    let input: serde_json::Value =
        serde_json::from_str(state["serialized_input"].as_str().unwrap_or_default())
            .expect("the input is JSON");
    assert_eq!(input["order_id"], "purged");
    assert_eq!(input["cost"], 10.0);
}

/// An operator looks at a waiting order beside its workflow, ends it with a reason, and
/// the record says so everywhere: Dapr's state, the read model, the order's actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_terminates_a_stuck_order_and_the_record_says_so() {
    let stack = Stack::start("120s").await;
    stack.start_waiting("ended", 2000.0).await;

    let (ok, shown) = stack.admin(&["order", "show", "po-ended"], "");
    assert!(ok, "{shown}");
    assert!(shown.contains("read model  awaiting_approval"), "{shown}");
    assert!(shown.contains("dapr        RUNNING"), "{shown}");
    let (ok, redriven) = stack.admin(&["order", "redrive", "po-ended", "--by", "olga"], "");
    assert!(ok, "{redriven}");
    assert!(redriven.contains("po-ended: nothing to do"), "{redriven}");

    let (ok, refused) = stack.admin(&["order", "terminate", "po-ended"], "");
    assert!(!ok, "a terminate without a reason: {refused}");
    let (ok, ended) = stack.admin(
        &[
            "order",
            "terminate",
            "po-ended",
            "--reason",
            "ordered twice",
            "--by",
            "olga",
        ],
        "",
    );
    assert!(ok, "{ended}");

    let (code, state) = stack.get("carol", "/status/po-ended").await;
    assert_eq!(code, 200, "{state}");
    assert_eq!(state["runtime_status"], "TERMINATED", "{state}");
    let row = stack.order("po-ended").await.expect("the order");
    assert_eq!(row["status"], "failed", "{row}");
    assert_eq!(row["needs_attention"], false, "{row}");
    let (code, late) = stack
        .post(
            "bob",
            "/signal-approval/po-ended",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 409, "{late}");

    let (ok, shown) = stack.admin(&["order", "show", "po-ended"], "");
    assert!(ok, "{shown}");
    assert!(shown.contains("dapr        TERMINATED"), "{shown}");
    assert!(
        shown.contains("Terminated by olga: ordered twice"),
        "{shown}"
    );
    assert!(
        shown.contains("Terminate by olga: ordered twice"),
        "{shown}"
    );
    assert!(shown.contains("Redrive by olga"), "{shown}");
    let (ok, stuck) = stack.admin(&["order", "stuck"], "");
    assert!(ok && stuck.contains("no order needs attention"), "{stuck}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened() {
    let stack = Stack::start("120s").await;
    // One auto-approved order, one approved by bob (and then refused to carol), one
    // left waiting.
    let (code, body) = stack
        .post("alice", "/start-purchase-order", order("m-small", 100.0, 1))
        .await;
    assert_eq!(code, 200, "{body}");
    for id in ["m-big", "m-waits"] {
        let (code, body) = stack
            .post("alice", "/start-purchase-order", order(id, 500.0, 4))
            .await;
        assert_eq!(code, 200, "{body}");
    }
    stack
        .wait_for_status("po-m-big", "awaiting_approval", WAIT)
        .await;
    stack
        .wait_for_status("po-m-waits", "awaiting_approval", WAIT)
        .await;
    let decision = json!({"approver_name": "bob", "approved": true});
    let (code, body) = stack
        .post("bob", "/signal-approval/po-m-big", decision)
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = stack
        .post(
            "carol",
            "/signal-approval/po-m-big",
            json!({"approver_name": "carol", "approved": false}),
        )
        .await;
    assert_eq!(code, 409, "{body}");
    stack
        .wait_for_status("po-m-small", "auto_approved", WAIT)
        .await;

    let started = |needs| format!("approvals_orders_started_total{{needs_approval=\"{needs}\"}}");
    assert_eq!(stack.metric(&started("false")).await, 1.0);
    assert_eq!(stack.metric(&started("true")).await, 2.0);
    let finished = |outcome| format!("approvals_orders_finished_total{{outcome=\"{outcome}\"}}");
    assert_eq!(stack.metric(&finished("auto_approved")).await, 1.0);
    assert_eq!(stack.metric(&finished("approved")).await, 1.0);
    assert_eq!(stack.metric(&finished("rejected")).await, 0.0);
    assert_eq!(
        stack
            .metric("approvals_decisions_total{result=\"accepted\",reason=\"none\"}")
            .await,
        1.0
    );
    assert_eq!(
        stack
            .metric("approvals_decisions_total{result=\"refused\",reason=\"conflict\"}")
            .await,
        1.0
    );
    assert_eq!(
        stack
            .metric("approvals_decision_duration_seconds_count")
            .await,
        2.0
    );
    assert_eq!(stack.metric("approvals_orders_waiting").await, 1.0);
    assert!(
        stack
            .metric("approvals_oldest_waiting_order_age_seconds")
            .await
            > 0.0
    );
    assert_eq!(
        stack.metric("approvals_orders_needing_attention").await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reach_an_otlp_collector() {
    let (collector, endpoint) = support::collector::Collector::start().await;
    // daprd sends its own spans to the same collector.
    let stack = Stack::start_with_env(
        "120s",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            // Sent every 200 ms instead of every 5 s, so the test need not wait long.
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    )
    .await;
    let (code, body) = stack
        .post("alice", "/start-purchase-order", order("traced", 500.0, 4))
        .await;
    assert_eq!(code, 200, "{body}");
    stack
        .wait_for_status("po-traced", "awaiting_approval", WAIT)
        .await;
    let (code, body) = stack
        .post(
            "bob",
            "/signal-approval/po-traced",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 200, "{body}");

    // The start, the decision, the activities, the Dapr calls and the HTTP requests;
    // and daprd's spans.
    let of_order = |spans: &[support::collector::Span], name: &str| {
        spans
            .iter()
            .find(|s| s.name == name && s.attribute("instance_id") == Some("po-traced"))
            .cloned()
    };
    let deadline = std::time::Instant::now() + WAIT;
    let spans = loop {
        let spans = collector.spans();
        let complete = ["start", "decide", "activity"]
            .iter()
            .all(|name| of_order(&spans, name).is_some())
            && spans.iter().any(|s| s.attribute("call") == Some("raise_event"))
            && spans.iter().any(|s| s.name == "request")
            // daprd's own: the event it was sent, and the workflow it ran.
            && spans
                .iter()
                .any(|s| s.name == "/TaskHubSidecarService/RaiseEvent")
            && spans
                .iter()
                .any(|s| s.name == "orchestration||PurchaseOrderApprovalWorkflow");
        if complete {
            break spans;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "spans received: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The raise of the approval event belongs to the decision's trace.
    let decide = of_order(&spans, "decide").expect("a decide span");
    assert_eq!(decide.attribute("by"), Some("bob"));
    assert!(
        spans.iter().any(|s| s.name == "dapr"
            && s.attribute("call") == Some("raise_event")
            && s.trace_id == decide.trace_id),
        "the raise_event call is not in the decision's trace"
    );
}

/// `from` hands their decisions to `to` for two days, with the CLI: whether it took,
/// and what it printed.
fn delegate_for_two_days(stack: &Stack, from: &str, to: &str) -> (bool, String) {
    let until = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let args = [
        "delegation",
        "add",
        "--from",
        from,
        "--to",
        to,
        "--until",
        &until,
    ];
    stack.admin(&args, "")
}

/// `who` approves or rejects order `id` (`po-{id}`) through the seed's endpoint.
async fn decide(stack: &Stack, who: &str, id: &str, approved: bool) -> (u16, serde_json::Value) {
    let path = format!("/signal-approval/po-{id}");
    stack
        .post(
            who,
            &path,
            json!({"approved": approved, "comment": "looked"}),
        )
        .await
}

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
    assert_eq!(
        headers
            .get("webhook-signature")
            .and_then(|v| v.to_str().ok()),
        Some(backend::notify::message::signature(SECRET.as_bytes(), &body).as_str()),
        "signed with the shared secret, over the body as received"
    );

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
