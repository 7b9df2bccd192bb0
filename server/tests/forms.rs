//! The plain HTML forms (the inbox's bulk decision, the settings page) and the one way
//! a message rides their redirect back: every failure comes back to its page as a 303
//! with the app's own words, sealed for the person who posted and for ten minutes;
//! and the API's credentials, read by `headers`' types. The whole router in process,
//! on a fresh SQLite file with the in-memory workflow engine.

use std::sync::Arc;
use std::time::Duration;

use app::state::AppState;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use backend::services::session::Site;
use backend::services::sign_in::SignIn;
use backend::services::{accounts, orders::OrderService};
use backend::store::{changes, db::Db};
use backend::workflow::engine::memory::MemoryEngine;
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use tower::ServiceExt;

/// The origin the test app believes it is served from.
const SITE: &str = "127.0.0.1:3000";

struct TestApp {
    router: Router,
    db: Db,
    alice_token: String,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("a 303 with a Location, not {} {}", self.status, self.body))
            .to_owned()
    }
}

async fn spawn_app() -> TestApp {
    let (db, dir) = backend::store::db::temporary()
        .await
        .expect("a fresh database");
    accounts::ensure_demo_users(&db).await.expect("demo users");
    let alice_token = accounts::create_api_token(&db, "alice", None)
        .await
        .expect("a token")
        .1;
    let engine = Arc::new(MemoryEngine::new(db.clone()));
    let orders = OrderService::new(db.clone(), engine, Duration::from_secs(3600));
    let router = server::app(AppState {
        leptos_options: LeptosOptions::builder()
            .output_name("approvals")
            .site_root(dir.path().join("site").to_string_lossy().into_owned())
            .build(),
        db: db.clone(),
        orders,
        changes: changes::channel(),
        site: Site::for_listen_address(SITE.parse().expect("an address")),
        sign_in: SignIn::new(),
    });
    TestApp {
        router,
        db,
        alice_token,
        _dir: dir,
    }
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
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A signed-in browser session of a demo account, as the sign-in form makes one.
    async fn session(&self, name: &str) -> String {
        let user = accounts::authenticate(&self.db, name, "approvals-demo")
            .await
            .expect("authenticates")
            .expect("a demo account");
        accounts::create_session(&self.db, &user)
            .await
            .expect("a session")
    }

    /// A page as `session`'s browser gets it.
    async fn page(&self, path: &str, session: &str) -> Answer {
        self.send(
            Request::builder()
                .uri(path)
                .header(header::COOKIE, format!("approvals_session={session}"))
                .body(Body::empty())
                .expect("a request"),
        )
        .await
    }
}

/// A form as a browser posts it from a page of the app, with `session`'s cookie.
fn form_post(path: &str, session: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("approvals_session={session}"))
        .header(header::ORIGIN, format!("http://{SITE}"))
        .body(Body::from(body.to_owned()))
        .expect("a request")
}

/// The page a failed form post comes back to, as a GET of the same browser: the
/// Location's path and query.
fn path_of(location: &str) -> &str {
    location.trim_start_matches(&format!("http://{SITE}"))
}

#[tokio::test]
async fn a_bad_bulk_post_comes_back_to_the_inbox_saying_why_to_the_manager_only() {
    let app = spawn_app().await;
    let (bob, carol) = (app.session("bob").await, app.session("carol").await);
    let too_many: String = (0..101)
        .map(|i| format!("instance_id=po-{i}&"))
        .collect::<String>()
        + "decision=approve";
    let too_long = format!(
        "instance_id=po-1&decision=approve&comment={}",
        "x".repeat(501)
    );
    for (body, says) in [
        (
            "decision=approve&comment=&q=desk",
            "Select at least one order.",
        ),
        (too_many.as_str(), "Select at most 100 orders at a time."),
        (too_long.as_str(), "at most 500 characters for the comment"),
    ] {
        let refused = app.send(form_post("/inbox/decide", &bob, body)).await;
        assert_eq!(
            refused.status,
            StatusCode::SEE_OTHER,
            "{says}: {}",
            refused.body
        );
        let back = refused.location();
        assert!(back.starts_with("/?"), "back to the inbox: {back}");
        let page = app.page(&back, &bob).await;
        assert_eq!(page.status, StatusCode::OK, "{back}");
        assert!(page.body.contains(says), "{back}: {says}");
        // Sealed for bob: the same link shows carol nothing.
        let carols = app.page(&back, &carol).await;
        assert_eq!(carols.status, StatusCode::OK, "{back}");
        assert!(!carols.body.contains(says), "carol sees bob's {says:?}");
    }
    let filtered = app
        .send(form_post("/inbox/decide", &bob, "decision=approve&q=desk"))
        .await;
    assert!(
        filtered.location().starts_with("/?q=desk&"),
        "keeps the filter"
    );

    // A body the form extractor cannot read comes back to the inbox too, saying so.
    let unreadable = app
        .send({
            let mut post = form_post("/inbox/decide", &bob, r#"{"instance_id":["po-1"]}"#);
            post.headers_mut().insert(
                header::CONTENT_TYPE,
                "application/json".parse().expect("a value"),
            );
            post
        })
        .await;
    assert_eq!(
        unreadable.status,
        StatusCode::SEE_OTHER,
        "{}",
        unreadable.body
    );
    let back = unreadable.location();
    assert!(back.starts_with("/?"), "{back}");
    assert!(app
        .page(&back, &bob)
        .await
        .body
        .contains("The form could not be read"));
}

#[tokio::test]
async fn a_bad_settings_post_comes_back_to_settings_saying_why() {
    let app = spawn_app().await;
    let alice = app.session("alice").await;
    let saved = app
        .send(form_post(
            "/settings/email",
            &alice,
            "email=alice%40example.com",
        ))
        .await;
    assert_eq!(saved.location(), "/settings?saved=1");

    let refused = app
        .send(form_post(
            "/settings/email",
            &alice,
            "email=alice%40localhost",
        ))
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let back = refused.location();
    assert!(back.starts_with("/settings?"), "{back}");
    assert!(
        !back.contains("localhost"),
        "nothing typed rides along: {back}"
    );
    let page = app.page(&back, &alice).await;
    assert!(
        page.body.contains("the domain needs a dot"),
        "{}",
        page.body
    );

    // Not a form at all (JSON): back to the page saying so, and nothing changed (the
    // hand-made parser read no field from it and cleared the address).
    let json = app
        .send({
            let mut post = form_post("/settings/email", &alice, r#"{"email":""}"#);
            post.headers_mut().insert(
                header::CONTENT_TYPE,
                "application/json".parse().expect("a value"),
            );
            post
        })
        .await;
    assert_eq!(json.status, StatusCode::SEE_OTHER, "{}", json.body);
    let back = json.location();
    assert!(back.starts_with("/settings?"), "{back}");
    assert!(app
        .page(&back, &alice)
        .await
        .body
        .contains("The form could not be read"));
    assert_eq!(
        accounts::email_of(&app.db, "alice")
            .await
            .expect("read")
            .as_deref(),
        Some("alice@example.com")
    );

    // A refused delegation names nothing anyone typed.
    let dora = app.session("dora").await;
    let nobody = app
        .send(form_post(
            "/settings/delegation",
            &dora,
            "delegate=%3Cb%3ECall+us%3C%2Fb%3E&until=2999-01-01",
        ))
        .await;
    let back = nobody.location();
    assert!(!back.contains("Call"), "{back}");
    assert!(app
        .page(&back, &dora)
        .await
        .body
        .contains("Choose a manager or director who has an account here."));

    // When we fail before the form's work (the database is gone), still a 303 to the
    // page, never a JSON body or a 500.
    app.db.close().await;
    let failed = app
        .send(form_post(
            "/settings/email",
            &alice,
            "email=a%40example.com",
        ))
        .await;
    assert_eq!(failed.status, StatusCode::SEE_OTHER, "{}", failed.body);
    assert!(failed.location().starts_with("/settings?settings_error="));
}

#[tokio::test]
async fn a_notice_sealed_for_alice_shows_nothing_to_bob_nor_when_tampered_with() {
    let app = spawn_app().await;
    let (alice, bob) = (app.session("alice").await, app.session("bob").await);
    let says = "the domain needs a dot";
    let back = app
        .send(form_post(
            "/settings/email",
            &alice,
            "email=alice%40localhost",
        ))
        .await
        .location();
    assert!(app.page(&back, &alice).await.body.contains(says));
    assert!(
        !app.page(&back, &bob).await.body.contains(says),
        "bob's view"
    );
    // Alice signed in again (another session) sees nothing of the old one's either.
    let alice_again = app.session("alice").await;
    assert!(!app.page(&back, &alice_again).await.body.contains(says));

    // One character of the seal changed; the words changed under the same seal.
    let last = back.chars().last().expect("a seal");
    let flipped = if last == '0' { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &back[..back.len() - 1]);
    assert!(!app.page(&tampered, &alice).await.body.contains(says));
    let reworded = back.replace("needs+a+dot", "needs+a+dash");
    assert_ne!(reworded, back);
    assert!(!app
        .page(&reworded, &alice)
        .await
        .body
        .contains("needs a dash"));

    // A server function's error through a plain form post (`__err`, `__seal`): alice's
    // comes back to her page; bob, given her link, gets the page without it.
    let refused = app
        .send({
            let mut post = form_post(
                "/api/submit_order",
                &alice,
                "product=&unit_cost=12&quantity=1&order_id=",
            );
            let headers = post.headers_mut();
            headers.insert(header::ACCEPT, "text/html".parse().expect("a value"));
            headers.insert(
                header::REFERER,
                format!("http://{SITE}/orders/new")
                    .parse()
                    .expect("a value"),
            );
            headers.insert(header::HOST, SITE.parse().expect("a value"));
            post
        })
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    let location = refused.location();
    let back = path_of(&location);
    assert!(back.contains("__seal="), "{back}");
    let hers = app.page(back, &alice).await;
    assert_eq!(hers.status, StatusCode::OK, "{back}");
    assert!(
        hers.body.contains("Enter the product name."),
        "{}",
        hers.body
    );
    let his = app.page(back, &bob).await;
    assert_eq!(his.status, StatusCode::SEE_OTHER, "bob's: {back}");
    assert!(!his.location().contains("__err"), "{}", his.location());
}

#[tokio::test]
async fn an_expired_seal_is_not_shown() {
    use app::api::{notice, SETTINGS_ERROR, SETTINGS_SEAL};
    let app = spawn_app().await;
    let alice = app.session("alice").await;
    let words = "Nothing was saved: something went wrong on our side; try again.";
    let link = |made_at: i64| {
        let seal = notice::seal_message_at(&alice, SETTINGS_ERROR, words, made_at);
        format!(
            "/settings?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair(SETTINGS_ERROR, words)
                .append_pair(SETTINGS_SEAL, &seal)
                .finish()
        )
    };
    let now = backend::kernel::clock::now_ms();
    assert!(
        app.page(&link(now), &alice).await.body.contains(words),
        "a fresh one shows"
    );
    let eleven_minutes_ago = now - 11 * 60 * 1000;
    assert!(
        !app.page(&link(eleven_minutes_ago), &alice)
            .await
            .body
            .contains(words),
        "an old one does not"
    );
}

#[tokio::test]
async fn basic_and_bearer_still_authenticate_and_a_malformed_authorization_is_401() {
    use base64::Engine;
    let app = spawn_app().await;
    let get = |authorization: String| {
        let app = &app;
        async move {
            app.send(
                Request::builder()
                    .uri("/api/orders")
                    .header(header::AUTHORIZATION, authorization)
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await
            .status
        }
    };
    let basic = |pair: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    assert_eq!(get(basic("bob:approvals-demo")).await, StatusCode::OK);
    assert_eq!(
        get(basic("bob:approvals-demo").replace("Basic", "basic")).await,
        StatusCode::OK,
        "the scheme in any case"
    );
    assert_eq!(
        get(format!("Bearer {}", app.alice_token)).await,
        StatusCode::OK
    );
    assert_eq!(
        get(format!("bearer {}", app.alice_token)).await,
        StatusCode::OK
    );
    for malformed in [
        basic("bob:wrong-password"),
        basic("no-colon-here"),
        "Basic !!!not-base64!!!".to_owned(),
        "Basic".to_owned(),
        "Bearer".to_owned(),
        "Bearer apv_not-a-token".to_owned(),
        format!("Token {}", app.alice_token),
        "Digest username=\"bob\"".to_owned(),
    ] {
        assert_eq!(
            get(malformed.clone()).await,
            StatusCode::UNAUTHORIZED,
            "{malformed}"
        );
    }

    // A made-up Authorization header is no API credential: a cookie-borne form post
    // from another site carrying one is refused by the same-origin check like any.
    let bob = app.session("bob").await;
    let forged = app
        .send({
            let mut post = form_post("/settings/email", &bob, "email=mallory%40evil.example");
            let headers = post.headers_mut();
            headers.insert(
                header::ORIGIN,
                "http://evil.example".parse().expect("a value"),
            );
            headers.insert(header::AUTHORIZATION, "Nothing".parse().expect("a value"));
            post
        })
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_ne!(
        accounts::email_of(&app.db, "bob")
            .await
            .expect("read")
            .as_deref(),
        Some("mallory@evil.example")
    );
}
