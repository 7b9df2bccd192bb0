//! What operators have: `order show`, `history` and `terminate`, metrics and traces.

use std::time::Duration;

use serde_json::json;

use crate::support::{self, order, Stack, WAIT};

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
    // Its last recorded steps, and its whole history as daprd recorded it.
    assert!(
        shown.contains("step        ") && shown.contains("terminated"),
        "{shown}"
    );
    let (ok, history) = stack.admin(&["order", "history", "po-ended"], "");
    assert!(ok, "{history}");
    let lines: Vec<&str> = history.lines().collect();
    assert!(
        lines[1].contains("started PurchaseOrderApprovalWorkflow"),
        "{history}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("activity send_approval_request_activity")),
        "{history}"
    );
    assert!(lines.iter().any(|l| l.contains("terminated")), "{history}");
    let (ok, none) = stack.admin(&["order", "history", "po-never-was"], "");
    assert!(
        !ok && none.contains("Dapr has no workflow po-never-was"),
        "{none}"
    );
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
