//! What the topics share: the app on a fresh database, its accounts and tokens, and
//! requests as clients send them.

use std::sync::Arc;
use std::time::Duration;

use app::state::AppState;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use backend::rules::approval_policy::ApprovalPolicy;
use backend::services::session::Site;
use backend::services::sign_in::SignIn;
use backend::services::{accounts, orders::OrderService};
use backend::store::files::MemoryFiles;
use backend::store::{changes, db::Db};
use backend::workflow::engine::memory::MemoryEngine;
use domain::Role;
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The origin the test app believes it is served from.
pub const SITE: &str = "127.0.0.1:3000";

pub struct TestApp {
    pub router: Router,
    /// What `router` was built from, to build another router on.
    pub state: AppState,
    pub db: Db,
    pub orders: OrderService,
    pub changes: tokio::sync::broadcast::Sender<backend::model::order::ChangeBatch>,
    pub engine: Arc<MemoryEngine>,
    /// Attached files' bytes, in memory (the API tests use daprd's real binding).
    pub files: Arc<MemoryFiles>,
    pub alice: String,
    pub bob: String,
    pub carol: String,
    pub _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(None).await
}

/// The app starting orders under `policy`'s approval levels (`None`: the seed's rule).
pub async fn spawn_app_with(policy: Option<ApprovalPolicy>) -> TestApp {
    let (db, dir) = backend::store::db::temporary()
        .await
        .expect("a fresh database");
    accounts::ensure_demo_users(&db).await.expect("demo users");
    let token = |name: &'static str| {
        let db = db.clone();
        async move {
            accounts::create_api_token(&db, name, None)
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
    let files = Arc::new(MemoryFiles::default());
    let orders = OrderService::new(db.clone(), engine.clone(), Duration::from_secs(3600))
        .with_files(files.clone());
    let orders = match policy {
        Some(policy) => orders.with_policy(policy),
        None => orders,
    };
    let changes = changes::channel();
    let state = AppState {
        leptos_options: LeptosOptions::builder()
            .output_name("approvals")
            .site_root(dir.path().join("site").to_string_lossy().into_owned())
            .build(),
        db: db.clone(),
        orders: orders.clone(),
        changes: changes.clone(),
        site: Site::for_listen_address(SITE.parse().expect("an address")),
        sign_in: SignIn::new(),
    };
    let router = server::app(state.clone());
    TestApp {
        router,
        state,
        db,
        orders,
        changes,
        engine,
        files,
        alice,
        bob,
        carol,
        _dir: dir,
    }
}

/// A request as a client would send it: `authorization` is the whole header value.
pub fn request(
    method: Method,
    path: &str,
    authorization: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    if let Some(value) = content_type {
        builder = builder.header(header::CONTENT_TYPE, value);
    }
    builder
        .body(Body::from(body.to_owned()))
        .expect("a request")
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub async fn send(&self, request: Request<Body>) -> Answer {
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

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(request(
            Method::POST,
            path,
            Some(&bearer(token)),
            Some("application/json"),
            &body.to_string(),
        ))
        .await
    }

    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.send(request(Method::GET, path, Some(&bearer(token)), None, ""))
            .await
    }

    pub async fn start(&self, token: &str, order_id: &str, cost: f64, quantity: i64) -> Answer {
        self.post(
            token,
            "/start-purchase-order",
            json!({"order_id": order_id, "cost": cost, "product": "Widget", "quantity": quantity}),
        )
        .await
    }

    /// A new account of `role` (password `approvals-demo`, as the demo accounts have)
    /// and an API token for it.
    pub async fn account_with_token(&self, name: &str, role: Role) -> String {
        accounts::add_user(&self.db, name, role, "approvals-demo", None)
            .await
            .expect("a new account");
        accounts::create_api_token(&self.db, name, None)
            .await
            .expect("a token")
            .1
    }

    /// A signed-in browser session of a demo account, as the sign-in form makes one.
    pub async fn session(&self, name: &str) -> String {
        let user = accounts::authenticate(&self.db, name, "approvals-demo")
            .await
            .expect("authenticates")
            .expect("a demo account");
        accounts::create_session(&self.db, &user)
            .await
            .expect("a session")
    }

    /// The orders in `session`'s inbox, as the page's server function lists them.
    pub async fn inbox_ids(&self, session: &str) -> Vec<String> {
        let answer = self
            .send(form_post(
                "/api/inbox",
                Some(session),
                Some(&format!("http://{SITE}")),
                "text=&offset=0&sort=",
            ))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|o| o["instance_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn order_count(&self) -> i64 {
        backend::store::read_model::count(&self.db, &Default::default())
            .await
            .expect("count")
    }

    /// An order's decision attempts, oldest first: (actor, decision, accepted, reason).
    /// The audit trail has no reader in the app (it is for the people who run it), so
    /// the test reads the table, in the dialect of the database it runs on.
    pub async fn audit_rows(
        &self,
        instance_id: &str,
    ) -> Vec<(String, String, bool, Option<String>)> {
        const COLUMNS: &str = "SELECT actor, decision, accepted, reason FROM decision_audit";
        let rows = match &self.db {
            Db::Sqlite(db) => {
                sqlx::query_as(&format!("{COLUMNS} WHERE instance_id = ? ORDER BY id"))
                    .bind(instance_id)
                    .fetch_all(db)
                    .await
            }
            Db::Postgres(db) => {
                sqlx::query_as(&format!("{COLUMNS} WHERE instance_id = $1 ORDER BY id"))
                    .bind(instance_id)
                    .fetch_all(db)
                    .await
            }
        };
        rows.expect("audit rows")
    }
}

pub fn error_text(answer: &Answer) -> &str {
    answer.body["error"].as_str().unwrap_or_default()
}

/// A browser request with the session cookie: a form post to a server function.
pub fn form_post(
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    body: &str,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(token) = cookie {
        builder = builder.header(header::COOKIE, format!("approvals_session={token}"));
    }
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder
        .body(Body::from(body.to_owned()))
        .expect("a request")
}

/// A browser's `multipart/form-data` post with `session`'s cookie (and this site's
/// origin, or `origin`): `parts` are (field, file name for a file, bytes).
pub fn multipart_post(
    path: &str,
    session: Option<&str>,
    origin: Option<&str>,
    parts: &[(&str, Option<&str>, &[u8])],
) -> Request<Body> {
    const BOUNDARY: &str = "----approvals-test-boundary";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ORIGIN, origin.unwrap_or(&format!("http://{SITE}")));
    if let Some(session) = session {
        builder = builder.header(header::COOKIE, format!("approvals_session={session}"));
    }
    builder.body(Body::from(body)).expect("a request")
}

/// A form another site's page posts with `session`'s cookie.
pub fn from_another_site(path: &str, session: &str, body: &str) -> Request<Body> {
    form_post(path, Some(session), Some("http://evil.example"), body)
}

/// What a page sends for its islands to hydrate from: `__RESOLVED_RESOURCES[id] = "json"`.
pub fn island_data(html: &str) -> Vec<(u64, Value)> {
    html.split("__RESOLVED_RESOURCES[")
        .skip(1)
        .filter_map(|entry| {
            let (id, rest) = entry.split_once("] = ")?;
            let quoted = &rest[..rest.find(";")?];
            let json: String = serde_json::from_str(quoted).ok()?;
            Some((id.parse().ok()?, serde_json::from_str(&json).ok()?))
        })
        .collect()
}

pub async fn order_row(app: &TestApp, instance_id: &str) -> backend::model::order::OrderRow {
    backend::store::read_model::get(&app.db, instance_id)
        .await
        .expect("reads")
        .expect("the order")
}

/// A GET of a page as a signed-in browser.
pub fn page_get(path: &str, session: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::COOKIE, format!("approvals_session={session}"))
        .body(Body::empty())
        .expect("a request")
}

/// The outcome `/status` reports, in the workflow's words ("Approved by bob").
pub async fn outcome(app: &TestApp, token: &str, instance_id: &str) -> String {
    let status = app.get(token, &format!("/status/{instance_id}")).await;
    let output: Value = status.body["serialized_output"]
        .as_str()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    output["status"].as_str().unwrap_or_default().to_owned()
}

/// An order of `cost` started by `token`'s account, once its workflow waits for a
/// decision; its instance id.
pub async fn waiting_order(app: &TestApp, token: &str, order_id: &str, cost: f64) -> String {
    let started = app.start(token, order_id, cost, 1).await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    let instance_id = format!("po-{order_id}");
    for _ in 0..200 {
        if order_row(app, &instance_id).await.status == domain::OrderStatus::AwaitingApproval {
            return instance_id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{instance_id} never waited");
}
