//! The HTTP layer without Dapr: the whole router (`server::app`) on a real SQLite file,
//! with the in-memory workflow engine, driven by `tower::ServiceExt::oneshot`. Each test
//! takes milliseconds; whatever involves real workflows (timers, crashes, races) is in
//! `api.rs`, against a real daprd.

use std::sync::Arc;
use std::time::Duration;

use app::state::AppState;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use backend::engine::memory::MemoryEngine;
use backend::{accounts, changes, Db, OrderService};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use serde_json::{json, Value};
use tower::ServiceExt;

struct TestApp {
    router: Router,
    db: Db,
    engine: Arc<MemoryEngine>,
    alice: String,
    bob: String,
    carol: String,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> TestApp {
    let (db, dir) = backend::db::temporary().await.expect("a fresh database");
    accounts::ensure_demo_users(&db).await.expect("demo users");
    let token = |name: &'static str| {
        let db = db.clone();
        async move {
            accounts::create_api_token(&db, name)
                .await
                .expect("a token")
                .1
        }
    };
    let (alice, bob, carol) = (
        token("alice").await,
        token("bob").await,
        token("carol").await,
    );
    let engine = Arc::new(MemoryEngine::new(db.clone()));
    let orders = OrderService::new(db.clone(), engine.clone(), Duration::from_secs(3600));
    let router = server::app(AppState {
        leptos_options: LeptosOptions::builder().output_name("approvals").build(),
        db: db.clone(),
        orders,
        changes: changes::channel(),
    });
    TestApp {
        router,
        db,
        engine,
        alice,
        bob,
        carol,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl TestApp {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("a request"),
        )
        .await
    }

    async fn get(&self, token: &str, path: &str) -> Answer {
        self.send(
            Request::builder()
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("a request"),
        )
        .await
    }

    async fn start(&self, token: &str, order_id: &str, cost: f64, quantity: i64) -> Answer {
        self.post(
            token,
            "/start-purchase-order",
            json!({"order_id": order_id, "cost": cost, "product": "Widget", "quantity": quantity}),
        )
        .await
    }

    async fn audit_rows(&self, instance_id: &str) -> Vec<(String, bool, Option<String>)> {
        sqlx::query_as(
            "SELECT actor, accepted, reason FROM decision_audit WHERE instance_id = ? ORDER BY id",
        )
        .bind(instance_id)
        .fetch_all(&self.db)
        .await
        .expect("audit rows")
    }
}

fn error_text(answer: &Answer) -> &str {
    answer.body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_a_challenge() {
    let app = spawn_app().await;
    let bare = app
        .send(
            Request::builder()
                .uri("/api/orders")
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
    assert!(bare.headers.contains_key(header::WWW_AUTHENTICATE));
    assert!(error_text(&bare).contains("HTTP Basic"), "{:?}", bare.body);

    let wrong_token = app.get("apv_not-a-token", "/api/orders").await;
    assert_eq!(wrong_token.status, StatusCode::UNAUTHORIZED);

    use base64::Engine;
    let basic = |user_pass: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    };
    let wrong_password = app
        .send(
            Request::builder()
                .uri("/api/orders")
                .header(header::AUTHORIZATION, basic("bob:wrong-password"))
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    let right_password = app
        .send(
            Request::builder()
                .uri("/api/orders")
                .header(header::AUTHORIZATION, basic("bob:approvals-demo"))
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(right_password.status, StatusCode::OK);
}

#[tokio::test]
async fn unreadable_bodies_are_400_or_415_and_bad_fields_422() {
    let app = spawn_app().await;
    let no_type = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/start-purchase-order")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.alice))
                .body(Body::from(r#"{"order_id":"a"}"#))
                .expect("a request"),
        )
        .await;
    assert_eq!(no_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(error_text(&no_type).contains("Content-Type: application/json"));

    let not_json = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/start-purchase-order")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.alice))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .expect("a request"),
        )
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
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(rows.0, 0, "nothing recorded for refused input");
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
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri("/start-purchase-order")
                    .header(header::AUTHORIZATION, format!("Bearer {}", app.alice))
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .expect("a request"),
            )
            .await;
        assert_eq!(answer.status, expected, "{body}: {:?}", answer.body);
        assert!(!error_text(&answer).is_empty(), "{body} says why");
    }
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(rows.0, 0, "nothing recorded for refused input");
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
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(rows.0, 0);

    app.engine.set_down(false);
    let accepted = app.start(&app.alice, "while-down", 600.0, 2).await;
    assert_eq!(
        accepted.status,
        StatusCode::OK,
        "the same order id works once it is back"
    );
}

#[tokio::test]
async fn who_may_decide_and_what_the_audit_keeps() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "big-1", 600.0, 2).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.start(&app.bob, "bobs-own", 600.0, 2).await.status,
        StatusCode::OK
    );
    let decide = |token: &str, instance: &str, body: Value| {
        let path = format!("/signal-approval/{instance}");
        let token = token.to_owned();
        let app = &app;
        async move { app.post(&token, &path, body).await }
    };

    let by_requester = decide(&app.alice, "po-big-1", json!({"approved": true})).await;
    assert_eq!(by_requester.status, StatusCode::FORBIDDEN);
    let own = decide(&app.bob, "po-bobs-own", json!({"approved": true})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(error_text(&own).contains("your own order"));
    let impersonating = decide(
        &app.bob,
        "po-big-1",
        json!({"approver_name": "carol", "approved": true}),
    )
    .await;
    assert_eq!(impersonating.status, StatusCode::FORBIDDEN);
    assert!(error_text(&impersonating).contains("the approver is always the caller"));
    let unknown = decide(&app.bob, "po-nope", json!({"approved": true})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let long_comment = decide(
        &app.bob,
        "po-big-1",
        json!({"approved": true, "comment": "x".repeat(501)}),
    )
    .await;
    assert_eq!(long_comment.status, StatusCode::UNPROCESSABLE_ENTITY);

    let approved = decide(
        &app.bob,
        "po-big-1",
        json!({"approver_name": "bob", "approved": true, "comment": "ok"}),
    )
    .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["confirmed"], true);

    let late = decide(&app.carol, "po-big-1", json!({"approved": false})).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.body["decided_by"], "bob");
    assert_eq!(late.body["status"], "approved");

    let audit = app.audit_rows("po-big-1").await;
    let summary: Vec<(&str, bool)> = audit.iter().map(|(a, ok, _)| (a.as_str(), *ok)).collect();
    assert_eq!(
        summary,
        [
            ("alice", false),
            ("bob", false),
            ("bob", false),
            ("bob", true),
            ("carol", false)
        ]
    );
    assert!(audit[0]
        .2
        .as_deref()
        .is_some_and(|r| r.contains("Only managers")));
}

#[tokio::test]
async fn paging_inputs_are_checked() {
    let app = spawn_app().await;
    for query in [
        "limit=0",
        "limit=201",
        "offset=-1",
        "limit=abc",
        "status=bogus",
    ] {
        let answer = app.get(&app.bob, &format!("/api/orders?{query}")).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {:?}",
            answer.body
        );
        assert!(!error_text(&answer).is_empty(), "{query} says why");
    }
    // Orders that need approval: the in-memory engine asks for it before start answers.
    for i in 0..3 {
        app.start(&app.alice, &format!("o-{i}"), 600.0, 2).await;
    }
    let page = app
        .get(
            &app.bob,
            "/api/orders?status=awaiting_approval&limit=2&offset=1",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["total"], 3);
    assert_eq!(page.body["orders"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn health_and_the_api_document() {
    let app = spawn_app().await;
    let health = app
        .send(
            Request::builder()
                .uri("/healthz")
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let doc = app
        .send(
            Request::builder()
                .uri("/openapi.json")
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    for path in [
        "/start-purchase-order",
        "/signal-approval/{instance_id}",
        "/status/{instance_id}",
        "/api/orders",
    ] {
        assert!(doc.body["paths"].get(path).is_some(), "{path} documented");
    }
}
