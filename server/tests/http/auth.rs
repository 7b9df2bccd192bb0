//! Who the caller is: credentials, Basic and bearer, the guessing limit, and requests
//! another site makes a browser send.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use backend::services::accounts;
use domain::{OrderStatus, Role};
use serde_json::json;

use crate::common::{error_text, form_post, order_row, request, spawn_app, SITE};

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_a_challenge() {
    let app = spawn_app().await;
    let bare = app
        .send(request(Method::GET, "/api/orders", None, None, ""))
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
        .send(request(
            Method::GET,
            "/api/orders",
            Some(&basic("bob:wrong-password")),
            None,
            "",
        ))
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    let right_password = app
        .send(request(
            Method::GET,
            "/api/orders",
            Some(&basic("bob:approvals-demo")),
            None,
            "",
        ))
        .await;
    assert_eq!(right_password.status, StatusCode::OK);
}

#[tokio::test]
async fn cross_site_requests_are_refused_and_same_origin_ones_pass() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "csrf-1", 600.0, 2).await.status,
        StatusCode::OK
    );
    let session = app.session("bob").await;
    let decide = "instance_id=po-csrf-1&decision=approve";
    for origin in [
        Some("http://127.0.0.1:8080"), // another port of the same host
        Some("http://evil.example"),
        Some("null"),
        None, // no Origin, no Sec-Fetch-Site, no Referer
    ] {
        let refused = app
            .send(form_post("/api/decide", Some(&session), origin, decide))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{origin:?}");
        assert!(
            refused
                .body
                .as_str()
                .is_some_and(|b| b.contains("did not come from a page of Approvals")),
            "{origin:?}: {:?}",
            refused.body
        );
    }
    assert_eq!(
        order_row(&app, "po-csrf-1").await.status,
        OrderStatus::AwaitingApproval,
        "nothing was decided"
    );

    let accepted = app
        .send(form_post(
            "/api/decide",
            Some(&session),
            Some(&format!("http://{SITE}")),
            decide,
        ))
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
    assert_eq!(
        order_row(&app, "po-csrf-1").await.status,
        OrderStatus::Approved
    );
}

/// A browser attaches Basic credentials it has cached (the API's `WWW-Authenticate`
/// prompt) to any request to the site, cross-site ones too: a form another site posts
/// with the signed-in manager's cookie and such a stray `Authorization` is still a
/// cookie's request, held to the same origin, on a server function and a plain form.
#[tokio::test]
async fn a_stray_authorization_header_does_not_let_another_site_use_the_cookie() {
    use base64::Engine;
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "csrf-2", 600.0, 2).await.status,
        StatusCode::OK
    );
    let session = app.session("bob").await;
    let cached = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bob:approvals-demo")
    );
    let decide = "instance_id=po-csrf-2&decision=approve";
    for path in ["/api/decide", "/inbox/decide"] {
        let mut forged = form_post(path, Some(&session), Some("http://evil.example"), decide);
        forged
            .headers_mut()
            .insert(header::AUTHORIZATION, cached.parse().expect("a header"));
        let refused = app.send(forged).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {:?}",
            refused.body
        );
    }
    assert_eq!(
        order_row(&app, "po-csrf-2").await.status,
        OrderStatus::AwaitingApproval,
        "nothing was decided"
    );
}

/// A DNS-rebinding page (its own name, resolving to the app's address) names its own
/// host: refused before anything of the app runs, sign-in included. The app's own
/// hosts are served, and the health probes answer whatever the host.
#[tokio::test]
async fn requests_for_another_host_are_refused() {
    let app = spawn_app().await;
    let get = |path: &str, host: &str| {
        Request::builder()
            .uri(path)
            .header(header::HOST, host)
            .body(Body::empty())
            .expect("a request")
    };
    let rebound = "rebound.example:3000";
    let page = app.send(get("/", rebound)).await;
    assert_eq!(page.status, StatusCode::MISDIRECTED_REQUEST);
    let mut login = form_post(
        "/api/login",
        None,
        Some(&format!("http://{rebound}")),
        "username=alice&password=approvals-demo",
    );
    login
        .headers_mut()
        .insert(header::HOST, rebound.parse().expect("a header"));
    let signed_in = app.send(login).await;
    assert_eq!(signed_in.status, StatusCode::MISDIRECTED_REQUEST);
    assert!(!signed_in.headers.contains_key(header::SET_COOKIE));

    for host in [SITE, "localhost:3000", "[::1]:3000"] {
        assert_eq!(
            app.send(get("/login", host)).await.status,
            StatusCode::OK,
            "{host}"
        );
    }
    for probe in ["/healthz", "/livez"] {
        assert_eq!(
            app.send(get(probe, "10.1.2.3:3000")).await.status,
            StatusCode::OK
        );
    }
}

/// Login CSRF: another site cannot sign a visitor into an account of its choosing.
#[tokio::test]
async fn another_site_cannot_sign_anyone_in() {
    let app = spawn_app().await;
    let login = "username=alice&password=approvals-demo";
    let refused = app
        .send(form_post(
            "/api/login",
            None,
            Some("http://evil.example"),
            login,
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.headers.contains_key(header::SET_COOKIE));

    let signed_in = app
        .send(form_post(
            "/api/login",
            None,
            Some("http://localhost:3000"),
            login,
        ))
        .await;
    assert!(
        signed_in
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("approvals_session=") && !c.contains("Secure")),
        "{:?}",
        signed_in.headers
    );
}

fn basic_from(client: &str, user_pass: &str) -> Request<Body> {
    use base64::Engine;
    let mut request = request(
        Method::GET,
        "/api/orders",
        Some(&format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )),
        None,
        "",
    );
    let addr: std::net::SocketAddr = format!("{client}:40000").parse().expect("an address");
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    request
}

/// A burst of wrong passwords is refused with 429 after a few hashes, the server keeps
/// answering, and other people still sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guessing_burst_is_limited_and_hurts_nobody_else() {
    let app = Arc::new(spawn_app().await);
    let burst: Vec<_> = (0..400)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.send(basic_from("10.0.0.1", &format!("alice:guess-{i}")))
                    .await
            })
        })
        .collect();
    // While the burst runs, health answers.
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        app.send(request(Method::GET, "/healthz", None, None, "")),
    )
    .await
    .expect("health answers during the burst");
    assert_eq!(health.status, StatusCode::OK);

    let (mut wrong, mut limited) = (0, 0);
    for answer in burst {
        let answer = answer.await.expect("a request task");
        match answer.status {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                assert!(answer.headers.contains_key(header::RETRY_AFTER));
            }
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    assert_eq!(wrong + limited, 400);
    assert!(
        wrong <= 30,
        "{wrong} passwords were checked from one client"
    );

    // Someone else, elsewhere, signs in as usual.
    let bob = app.send(basic_from("10.0.0.2", "bob:approvals-demo")).await;
    assert_eq!(bob.status, StatusCode::OK, "{:?}", bob.body);
    // The guessed account is refused for a while, wherever the next attempt comes from.
    let alice = app
        .send(basic_from("10.0.0.3", "alice:approvals-demo"))
        .await;
    assert_eq!(alice.status, StatusCode::TOO_MANY_REQUESTS);
}

/// A Basic-auth client's verified credentials are remembered, never a wrong password,
/// and not past the account's removal.
#[tokio::test]
async fn basic_credentials_are_remembered_only_while_they_hold() {
    let app = spawn_app().await;
    accounts::add_user(&app.db, "erin", Role::Manager, "erins-password", None)
        .await
        .expect("erin");
    // 40 calls from one client: beyond its 30 password checks, so they pass only if
    // the verified credential is remembered.
    for _ in 0..40 {
        let answer = app
            .send(basic_from("10.0.0.9", "erin:erins-password"))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }
    accounts::remove_user(&app.db, "erin")
        .await
        .expect("removed");
    let after = app
        .send(basic_from("10.0.0.8", "erin:erins-password"))
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

/// The cross-origin check is about what a browser sends on its own: a bare API call
/// with no credentials and no cookies still gets the API's own 401.
#[tokio::test]
async fn an_api_call_without_credentials_is_401_not_403() {
    let app = spawn_app().await;
    let answer = app
        .send(request(
            Method::POST,
            "/start-purchase-order",
            None,
            Some("application/json"),
            &json!({"order_id": "x", "cost": 1.0, "product": "p", "quantity": 1}).to_string(),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}
