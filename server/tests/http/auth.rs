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
    // So does the guessed account's owner: a stranger's guesses lock nobody out.
    let alice = app
        .send(basic_from("10.0.0.3", "alice:approvals-demo"))
        .await;
    assert_eq!(alice.status, StatusCode::OK, "{:?}", alice.body);
}

/// Wrong passwords for a name from one address are free a few times, then each next
/// try waits longer; the name's owner signs in from elsewhere meanwhile, and a success
/// clears the count.
#[tokio::test]
async fn a_names_failures_slow_that_address_and_lock_nobody_out() {
    let app = spawn_app().await;
    for i in 0..6 {
        let wrong = app
            .send(basic_from("10.0.0.5", &format!("alice:guess-{i}")))
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    // The sixth failure asks for a second's wait before the next try from there,
    // whatever the password.
    for password in ["guess-6", "approvals-demo"] {
        let waits = app
            .send(basic_from("10.0.0.5", &format!("alice:{password}")))
            .await;
        assert_eq!(waits.status, StatusCode::TOO_MANY_REQUESTS, "{password}");
        assert_eq!(
            waits.headers.get(header::RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }
    // The owner, elsewhere, is not held up.
    let owner = app
        .send(basic_from("10.0.0.6", "alice:approvals-demo"))
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{:?}", owner.body);
    // After the wait, the right password from there works and clears the count.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let right = app
        .send(basic_from("10.0.0.5", "alice:approvals-demo"))
        .await;
    assert_eq!(right.status, StatusCode::OK, "{:?}", right.body);
    let wrong_again = app.send(basic_from("10.0.0.5", "alice:guess-again")).await;
    assert_eq!(wrong_again.status, StatusCode::UNAUTHORIZED);
}

/// Behind a trusted proxy the limits key on the client it forwards for, so one
/// guesser does not use up everyone's allowance; a peer that is not a trusted proxy
/// cannot dodge its limit by writing X-Forwarded-For itself.
#[tokio::test]
async fn the_limits_key_on_the_client_a_trusted_proxy_names() {
    use backend::services::sign_in::SignIn;
    let app = spawn_app().await;
    let proxies = "10.0.0.0/8".parse().expect("proxies");
    let router = server::app(app::state::AppState {
        sign_in: SignIn::behind(proxies),
        ..app.state.clone()
    });
    let send = |request: Request<Body>| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            router
                .oneshot(request)
                .await
                .expect("the router answers")
                .status()
        }
    };
    let via_proxy = |client: &str, user_pass: &str| {
        let mut request = basic_from("10.0.0.1", user_pass);
        request.headers_mut().insert(
            "x-forwarded-for",
            format!("{client}, 10.0.0.2").parse().expect("a value"),
        );
        request
    };
    // One client behind the proxy spends its 30 checks (each name once, so no name's
    // own count gets in the way) and is then refused.
    for i in 0..30 {
        let status = send(via_proxy("198.51.100.1", &format!("nobody-{i}:x"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "check {i}");
    }
    let spent = send(via_proxy("198.51.100.1", "nobody-30:x")).await;
    assert_eq!(spent, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy still signs in.
    let bob = send(via_proxy("198.51.100.2", "bob:approvals-demo")).await;
    assert_eq!(bob, StatusCode::OK);

    // A peer we do not trust is the client, whatever it forwards for.
    let spoofing = |i: usize| {
        let mut request = basic_from("192.0.2.1", &format!("nobody-{i}:x"));
        request.headers_mut().insert(
            "x-forwarded-for",
            format!("203.0.113.{i}").parse().expect("a value"),
        );
        request
    };
    for i in 0..30 {
        assert_eq!(
            send(spoofing(i)).await,
            StatusCode::UNAUTHORIZED,
            "check {i}"
        );
    }
    assert_eq!(send(spoofing(30)).await, StatusCode::TOO_MANY_REQUESTS);
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
    // The same under /api/, where the server functions live too: the API's own JSON
    // 401, not the browser guard's 403 in plain text.
    let cancel = app
        .send(request(
            Method::POST,
            "/api/orders/po-x/cancel",
            None,
            Some("application/json"),
            "null",
        ))
        .await;
    assert_eq!(cancel.status, StatusCode::UNAUTHORIZED, "{:?}", cancel.body);
    assert!(
        error_text(&cancel).contains("HTTP Basic"),
        "{:?}",
        cancel.body
    );
    // A server function without a cookie is still the browser's, and guarded.
    let login = app
        .send(form_post(
            "/api/login",
            None,
            None,
            "username=bob&password=x",
        ))
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
}
