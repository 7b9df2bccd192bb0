//! What the stack survives: a server crash, the sidecar down, frozen or refusing calls
//! without its token, a locked read model, workflow state purged.

use std::time::Duration;

use serde_json::json;

use crate::support::{order, output_status, Stack, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_survive_a_server_crash() {
    // The order to approve has a deadline far beyond a slow restart; the order to time
    // out, one short enough to fire soon after it. Each was started before a crash.
    let mut stack = Stack::start("300s").await;
    stack.start_waiting("crash-approve", 5000.0).await;
    stack.kill_server();
    stack.set_approval_timeout("15s");
    stack.start_server().await;
    stack.start_waiting("crash-timeout", 5000.0).await;
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
