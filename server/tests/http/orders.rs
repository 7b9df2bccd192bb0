//! Starting an order and asking about one: what is refused and why, and what the
//! engine being down or an instance it cannot load comes to.

use axum::http::{Method, StatusCode};
use domain::{OrderStatus, Role};
use serde_json::{json, Value};

use crate::common::{bearer, error_text, form_post, order_row, request, spawn_app, SITE};

#[tokio::test]
async fn unreadable_bodies_are_400_or_415_and_bad_fields_422() {
    let app = spawn_app().await;
    let no_type = app
        .send(request(
            Method::POST,
            "/start-purchase-order",
            Some(&bearer(&app.alice)),
            None,
            r#"{"order_id":"a"}"#,
        ))
        .await;
    assert_eq!(no_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(error_text(&no_type).contains("Content-Type: application/json"));

    let not_json = app
        .send(request(
            Method::POST,
            "/start-purchase-order",
            Some(&bearer(&app.alice)),
            Some("application/json"),
            "{not json",
        ))
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert!(error_text(&not_json).contains("not valid JSON"));

    let wrong_shape = app
        .post(
            &app.alice,
            "/start-purchase-order",
            json!({"order_id": "a"}),
        )
        .await;
    assert_eq!(wrong_shape.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_text(&wrong_shape).contains("does not match"));

    let bad = app
        .post(
            &app.alice,
            "/start-purchase-order",
            json!({"order_id": "has space", "cost": 0.001, "product": " ", "quantity": 0}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .expect("field errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["order_id", "cost", "product", "quantity"]);
    assert_eq!(
        app.order_count().await,
        0,
        "nothing recorded for refused input"
    );
}

/// Every bad field is a 422 naming that field; every unreadable body a 4xx that says
/// why; nothing is recorded for any of them.
#[tokio::test]
async fn each_bad_input_names_its_problem() {
    let app = spawn_app().await;
    let order = |order_id: &str, cost: f64, quantity: i64| json!({"order_id": order_id, "cost": cost, "product": "Widget", "quantity": quantity});
    for (body, field) in [
        (order("", 10.0, 1), "order_id"),
        (order(&"x".repeat(65), 10.0, 1), "order_id"),
        (order("has space", 10.0, 1), "order_id"),
        (order("neg", -5.0, 1), "cost"),
        (order("zero", 0.0, 1), "cost"),
        (order("absurd", 1e15, 1), "cost"),
        (order("fraction", 0.001, 1), "cost"),
        (order("qty0", 10.0, 0), "quantity"),
        (order("qtybig", 10.0, 1_000_001), "quantity"),
        (
            json!({"order_id": "noproduct", "cost": 1.0, "product": "", "quantity": 1}),
            "product",
        ),
        (
            json!({"order_id": "longproduct", "cost": 1.0, "product": "p".repeat(201), "quantity": 1}),
            "product",
        ),
    ] {
        let answer = app
            .post(&app.alice, "/start-purchase-order", body.clone())
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields: Vec<&str> = answer.body["errors"]
            .as_array()
            .expect("errors list")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, [field], "{body}: {:?}", answer.body);
    }
    for (content_type, body, expected) in [
        ("application/json", "{not json", StatusCode::BAD_REQUEST),
        (
            "application/json",
            r#"{"order_id": "q", "cost": 1, "product": "p", "quantity": 2.5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "application/json",
            r#"{"order_id": "q", "cost": "ten", "product": "p", "quantity": 2}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("text/plain", "hello", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        let answer = app
            .send(request(
                Method::POST,
                "/start-purchase-order",
                Some(&bearer(&app.alice)),
                Some(content_type),
                body,
            ))
            .await;
        assert_eq!(answer.status, expected, "{body}: {:?}", answer.body);
        assert!(!error_text(&answer).is_empty(), "{body} says why");
    }
    assert_eq!(
        app.order_count().await,
        0,
        "nothing recorded for refused input"
    );
}

#[tokio::test]
async fn an_order_starts_once_and_its_status_has_the_seeds_shape() {
    let app = spawn_app().await;
    let started = app.start(&app.alice, "small-1", 10.0, 2).await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    assert_eq!(started.body["instance_id"], "po-small-1");
    assert!(started.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("Purchase order workflow started for small-1")));

    let again = app.start(&app.bob, "small-1", 10.0, 2).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(error_text(&again).contains("already exists"));

    let status = app.get(&app.alice, "/status/po-small-1").await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.body["runtime_status"], "COMPLETED");
    let output: Value = serde_json::from_str(
        status.body["serialized_output"]
            .as_str()
            .expect("an output"),
    )
    .expect("JSON output");
    assert_eq!(
        output,
        json!({"status": "Auto-Approved", "order_id": "small-1"})
    );

    let unknown = app.get(&app.alice, "/status/po-nothing-here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn engine_down_is_503_and_records_nothing() {
    let app = spawn_app().await;
    app.engine.set_down(true);
    let refused = app.start(&app.alice, "while-down", 600.0, 2).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error_text(&refused).contains("nothing was changed"));
    assert_eq!(app.order_count().await, 0);

    app.engine.set_down(false);
    let accepted = app.start(&app.alice, "while-down", 600.0, 2).await;
    assert_eq!(
        accepted.status,
        StatusCode::OK,
        "the same order id works once it is back"
    );
}

/// Ids that cannot name an order are refused as unknown, before the engine is asked.
#[tokio::test]
async fn malformed_instance_ids_are_404_without_the_engine() {
    let app = spawn_app().await;
    app.engine.set_down(true);
    for id in [
        "order123",
        "po-a%20b",
        "po-",
        &format!("po-{}", "x".repeat(70)),
    ] {
        let answer = app.get(&app.bob, &format!("/status/{id}")).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{id}: {:?}",
            answer.body
        );
    }
}

/// Unreadable server-function arguments are the caller's mistake: 400, signed in or not.
#[tokio::test]
async fn malformed_server_function_arguments_are_400() {
    let app = spawn_app().await;
    let origin = format!("http://{SITE}");
    for body in ["instance_id=po-x&decision=maybe", "decision=approve"] {
        let answer = app
            .send(form_post("/api/decide", None, Some(&origin), body))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:?}",
            answer.body
        );
    }
}

/// The reconciler may create a just-inserted order's workflow before its start does:
/// that instance is the order's own, not a reason to refuse it.
#[tokio::test]
async fn a_start_that_finds_its_own_workflow_succeeds() {
    let app = spawn_app().await;
    let input = backend::model::workflow::WorkflowOrder {
        order_id: "raced-1".into(),
        cost: 10.0,
        product: "Widget".into(),
        quantity: 2,
        approval_timeout_ms: Some(3_600_000),
        requested_by: Some("alice".into()),
        levels: None,
        resume: None,
    };
    // Created by another replica's reconciler, its first turn not run yet.
    assert!(app
        .engine
        .create_unstarted("po-raced-1", &input)
        .expect("created first"));
    let started = app.start(&app.alice, "raced-1", 10.0, 2).await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    // Someone else's instance under that id is still a conflict.
    assert!(app
        .engine
        .create_unstarted(
            "po-raced-2",
            &backend::model::workflow::WorkflowOrder {
                order_id: "raced-2".into(),
                requested_by: Some("carol".into()),
                ..input
            },
        )
        .expect("created"));
    let refused = app.start(&app.alice, "raced-2", 10.0, 2).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
}

/// A workflow whose state Dapr cannot load (dapr/dapr#10155 leaves one so for good) is
/// reported the same minute: the order needs attention, everyone who sees it sees
/// that, only managers read why; it clears once the state loads again. An operator
/// can end such an order, and its timeline says who did and why.
#[tokio::test]
async fn a_workflow_state_that_cannot_be_loaded_needs_attention() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "broken-1", 600.0, 2).await.status,
        StatusCode::OK
    );
    let words = "inbox key wf-inbox-7 declared in metadata but missing from state store";
    app.engine.break_state("po-broken-1", Some(words));
    backend::ops::reconcile::pass(&app.orders, true)
        .await
        .expect("a pass");
    let row = order_row(&app, "po-broken-1").await;
    assert!(
        row.attention.as_deref().is_some_and(|a| a.contains(words)),
        "{row:?}"
    );
    let listed = app.get(&app.carol, "/api/orders?q=broken-1").await;
    assert_eq!(
        listed.body["orders"][0]["needs_attention"], true,
        "{:?}",
        listed.body
    );
    let stuck = backend::ops::operator::stuck(&app.orders, 10)
        .await
        .expect("stuck");
    assert_eq!(stuck.len(), 1);

    // The state loads again: nothing to look at any more.
    app.engine.break_state("po-broken-1", None);
    backend::ops::reconcile::pass(&app.orders, false)
        .await
        .expect("a pass");
    let row = order_row(&app, "po-broken-1").await;
    assert_eq!(row.attention, None);
    let listed = app.get(&app.carol, "/api/orders?q=broken-1").await;
    assert_eq!(listed.body["orders"][0]["needs_attention"], false);

    // Broken again, and an operator ends it.
    app.engine.break_state("po-broken-1", Some(words));
    backend::ops::reconcile::pass(&app.orders, false)
        .await
        .expect("a pass");
    backend::ops::operator::terminate(&app.orders, "po-broken-1", "olga", "ordered twice")
        .await
        .expect("terminates");
    let row = order_row(&app, "po-broken-1").await;
    assert_eq!(row.status, OrderStatus::Failed);
    assert_eq!(row.attention, None);
    assert_eq!(
        row.failure.as_deref(),
        Some("Terminated by olga: ordered twice")
    );
    let actions = backend::store::read_model::operator_actions(&app.db, "po-broken-1")
        .await
        .expect("actions");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].actor, "olga");
    let decided = app
        .post(
            &app.bob,
            "/signal-approval/po-broken-1",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::CONFLICT, "{:?}", decided.body);

    // An order with an outcome cannot be terminated.
    assert_eq!(
        app.start(&app.alice, "fine-1", 600.0, 2).await.status,
        StatusCode::OK
    );
    let approved = app
        .post(
            &app.bob,
            "/signal-approval/po-fine-1",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let refused = backend::ops::operator::terminate(&app.orders, "po-fine-1", "olga", "no").await;
    assert!(
        matches!(refused, Err(backend::ServiceError::Conflict { .. })),
        "{refused:?}"
    );
}

/// `GET /api/orders/{instance_id}` is the order's page as JSON: the order, its timeline
/// and what the caller may do with it, by the same rules (its requester may cancel, a
/// manager may decide, another requester gets the 404 of no order at all).
#[tokio::test]
async fn one_order_in_full_is_the_same_for_the_api_as_for_its_page() {
    let app = spawn_app().await;
    let started = app.start(&app.alice, "detail-1", 2_000.0, 1).await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    let dave = app.account_with_token("dave", Role::Requester).await;

    let mine = app.get(&app.alice, "/api/orders/po-detail-1").await;
    assert_eq!(mine.status, StatusCode::OK, "{:?}", mine.body);
    assert_eq!(mine.body["order"]["instance_id"], "po-detail-1");
    assert_eq!(mine.body["order"]["status"], "awaiting_approval");
    assert_eq!(mine.body["can_cancel"], json!(true));
    assert_eq!(mine.body["can_decide"], json!(false));
    let labels: Vec<&str> = mine.body["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|e| e["label"].as_str())
        .collect();
    assert_eq!(labels.first(), Some(&"Submitted"), "{labels:?}");
    assert!(labels.contains(&"Approval requested"), "{labels:?}");

    let bobs = app.get(&app.bob, "/api/orders/po-detail-1").await;
    assert_eq!(bobs.status, StatusCode::OK);
    assert_eq!(bobs.body["can_decide"], json!(true));
    assert_eq!(bobs.body["can_cancel"], json!(false));

    for path in ["/api/orders/po-detail-1", "/api/orders/po-no-such-order"] {
        let hidden = app.get(&dave, path).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{path}");
    }
    let anonymous = app
        .send(request(
            Method::GET,
            "/api/orders/po-detail-1",
            None,
            None,
            "",
        ))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // Decided, nobody may decide or cancel it any more; the outcome closes the timeline.
    let approved = app
        .post(
            &app.bob,
            "/signal-approval/po-detail-1",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let done = app.get(&app.alice, "/api/orders/po-detail-1").await;
    assert_eq!(done.body["can_cancel"], json!(false));
    assert_eq!(
        app.get(&app.bob, "/api/orders/po-detail-1").await.body["can_decide"],
        json!(false)
    );
    let last = done.body["timeline"]
        .as_array()
        .and_then(|t| t.last())
        .and_then(|e| e["label"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        last.contains("Order placed") || last.contains("Approved"),
        "{last}"
    );
}

/// A failed workflow's error, in the system's words (an engine error, a stack trace),
/// is for deciders: its requester's `/status` says it failed, and no more.
#[tokio::test]
async fn a_failures_details_are_for_deciders_only() {
    use backend::model::order::OrderFacts;
    use backend::store::read_model;
    let app = spawn_app().await;
    let facts = OrderFacts {
        instance_id: "po-broken".into(),
        order_id: "broken".into(),
        product: "Desk".into(),
        quantity: 2,
        unit_cost: domain::Cents(60_000),
        requested_by: Some("alice".into()),
    };
    read_model::insert_submitted(&app.db, &facts, 1_000)
        .await
        .expect("recorded");
    let internal = "activity panicked at backend/src/workflow/activities.rs:88";
    read_model::finish(
        &app.db,
        "po-broken",
        OrderStatus::Failed,
        None,
        Some(2_000),
        Some(internal),
        2_000,
    )
    .await
    .expect("failed");

    let theirs = app.get(&app.alice, "/status/po-broken").await;
    assert_eq!(theirs.status, StatusCode::OK, "{:?}", theirs.body);
    assert_eq!(theirs.body["runtime_status"], "FAILED");
    assert!(
        !theirs.body.to_string().contains("panicked"),
        "{:?}",
        theirs.body
    );
    let deciders = app.get(&app.bob, "/status/po-broken").await;
    assert_eq!(deciders.body["failure_details"]["message"], internal);
}

/// Every route answers a body past its limit with 413 and a message: a server
/// function (which once answered 500), the JSON API, a plain form; with a length
/// declared up front or not (chunked).
#[tokio::test]
async fn an_oversized_body_is_413_with_a_message_everywhere() {
    let app = spawn_app().await;
    let session = app.session("bob").await;
    let origin = format!("http://{SITE}");
    let huge = format!(
        "instance_id=po-x&decision=approve&comment={}",
        "x".repeat(300 * 1024)
    );
    for path in ["/api/decide", "/inbox/decide"] {
        let answer = app
            .send(form_post(path, Some(&session), Some(&origin), &huge))
            .await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert!(
            error_text(&answer).contains("KiB"),
            "{path}: {:?}",
            answer.body
        );
    }
    let json = format!(r#"{{"order_id":"{}"}}"#, "x".repeat(300 * 1024));
    let answer = app
        .send(request(
            Method::POST,
            "/start-purchase-order",
            Some(&bearer(&app.alice)),
            Some("application/json"),
            &json,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);

    // No Content-Length: the body streams in until the limit.
    let chunks = futures::stream::iter(
        (0..300).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'x'; 1024]))),
    );
    let mut streamed = form_post("/api/decide", Some(&session), Some(&origin), "");
    *streamed.body_mut() = axum::body::Body::from_stream(chunks);
    let answer = app.send(streamed).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}
