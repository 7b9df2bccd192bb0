//! Pages and what every answer carries: health, the API document, security headers,
//! pages sent whole with their islands' data, 404s and errors carried in links.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Method, StatusCode};

use crate::common::{form_post, island_data, page_get, request, spawn_app, SITE};

#[tokio::test]
async fn health_and_the_api_document() {
    let app = spawn_app().await;
    let health = app
        .send(request(Method::GET, "/healthz", None, None, ""))
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let alive = app
        .send(request(Method::GET, "/livez", None, None, ""))
        .await;
    assert_eq!(alive.status, StatusCode::OK);
    let doc = app
        .send(request(Method::GET, "/openapi.json", None, None, ""))
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    for path in [
        "/start-purchase-order",
        "/signal-approval/{instance_id}",
        "/status/{instance_id}",
        "/api/orders",
        "/api/orders.csv",
        "/api/orders/{instance_id}/cancel",
    ] {
        assert!(doc.body["paths"].get(path).is_some(), "{path} documented");
    }
    let list_params = doc.body["paths"]["/api/orders"]["get"]["parameters"].to_string();
    assert!(
        list_params.contains("\"sort\""),
        "the list's sort is documented"
    );
    // Query parameters are documented as such (the fuzzer found them documented as
    // path parameters), with the values they take.
    for path in ["/api/orders", "/api/orders.csv"] {
        for parameter in doc.body["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters")
        {
            assert_eq!(parameter["in"], "query", "{path}: {parameter}");
        }
    }
    let csv_status = &doc.body["paths"]["/api/orders.csv"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "status")
        .expect("status")["schema"]["enum"];
    assert!(
        csv_status.to_string().contains("\"rejected\"")
            && !csv_status.to_string().contains("\"awaiting_approval\""),
        "{csv_status}"
    );
    // The order's bounds as documented are the rules' own constants.
    let start = &doc.body["components"]["schemas"]["StartOrderRequest"]["properties"];
    let number = |v: &serde_json::Value| v.as_f64().expect("a number");
    assert_eq!(
        number(&start["quantity"]["maximum"]),
        domain::MAX_QUANTITY as f64
    );
    assert_eq!(number(&start["quantity"]["minimum"]), 1.0);
    assert_eq!(
        number(&start["cost"]["maximum"]),
        domain::Cents::MAX_UNIT_COST.0 as f64 / 100.0
    );
    assert_eq!(
        start["product"]["maxLength"].as_u64(),
        Some(domain::MAX_PRODUCT_LEN as u64)
    );
    assert_eq!(
        start["order_id"]["pattern"].as_str(),
        Some(format!("^[A-Za-z0-9._-]{{1,{}}}$", domain::MAX_ORDER_ID_LEN).as_str())
    );
    // What every operation may answer besides its own work is documented on each.
    for (path, method, codes) in [
        (
            "/start-purchase-order",
            "post",
            &["400", "413", "415", "429"][..],
        ),
        (
            "/api/orders/{instance_id}/cancel",
            "post",
            &["400", "413", "415", "429"],
        ),
        ("/api/orders", "get", &["400", "429"]),
        ("/status/{instance_id}", "get", &["400", "429"]),
    ] {
        for code in codes {
            assert!(
                doc.body["paths"][path][method]["responses"]
                    .get(code)
                    .is_some(),
                "{method} {path} documents {code}"
            );
        }
    }
    // Swagger UI's page and its script, whole.
    let ui = app
        .send(request(Method::GET, "/docs/", None, None, ""))
        .await;
    assert_eq!(ui.status, StatusCode::OK);
    assert!(ui
        .body
        .as_str()
        .is_some_and(|html| html.contains("swagger-ui")));
    let script = app
        .send(request(
            Method::GET,
            "/docs/swagger-ui-bundle.js",
            None,
            None,
            "",
        ))
        .await;
    assert_eq!(script.status, StatusCode::OK);
}

/// A crafted link cannot put words in the app's mouth.
#[tokio::test]
async fn an_error_in_a_link_shows_only_if_the_app_wrote_it() {
    let app = spawn_app().await;
    let crafted = "/login?__path=%2Fapi%2Flogin&__err=%7B%22Forbidden%22%3A%22Session%20expired%2C%20sign%20in%20at%20https%3A%2F%2Fevil.example%22%7D&next=1";
    let answer = app
        .send(request(Method::GET, crafted, None, None, ""))
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/login?next=1")
    );

    // The app's own: a failed plain form post comes back sealed and is shown.
    let refused = app
        .send({
            let mut r = form_post(
                "/api/login",
                None,
                Some(&format!("http://{SITE}")),
                "username=alice&password=wrong-password",
            );
            r.headers_mut()
                .insert(header::ACCEPT, "text/html".parse().expect("a value"));
            r.headers_mut().insert(
                header::REFERER,
                format!("http://{SITE}/login").parse().expect("a value"),
            );
            r.headers_mut()
                .insert(header::HOST, SITE.parse().expect("a value"));
            r
        })
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{:?}", refused.body);
    let back = refused
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("back to the form")
        .to_owned();
    assert!(back.contains("__seal="), "{back}");
    let path = back.trim_start_matches(&format!("http://{SITE}"));
    let page = app.send(request(Method::GET, path, None, None, "")).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{path}: {:?} {:?}",
        page.headers,
        page.body
    );
    assert!(
        page.body
            .as_str()
            .is_some_and(|html| html.contains("do not match an account")),
        "the page shows the app's own error"
    );
}

/// Every response carries the security headers; a page's policy admits exactly its own
/// inline script, by the nonce that script carries.
#[tokio::test]
async fn security_headers_on_pages_and_the_api() {
    let app = spawn_app().await;
    let page = app
        .send(request(Method::GET, "/login", None, None, ""))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = page
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .expect("a page has a policy")
        .to_owned();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in script-src");
    let html = page.body.as_str().expect("HTML");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries it"
    );
    for part in [
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(policy.contains(part), "{part} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");

    let api = app.get(&app.bob, "/api/orders").await;
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(
            api.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
    assert!(api
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.contains("frame-ancestors 'none'")));
}

/// A page leaves in one piece, data scripts included, so no island can start before
/// its data is there; and no cache keeps a personal page.
#[tokio::test]
async fn a_page_is_sent_whole_and_never_cached() {
    let app = spawn_app().await;
    let bob = app.session("bob").await;
    let page = app.send(page_get("/", &bob)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().expect("HTML");
    assert!(
        html.contains("<script"),
        "the inbox carries its island's data"
    );
    assert_eq!(
        page.headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()),
        Some(html.len().to_string().as_str()),
        "the whole page, counted"
    );
    assert_eq!(
        page.headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let api = app.get(&app.bob, "/api/orders").await;
    assert!(
        api.headers.get(header::CACHE_CONTROL).is_none(),
        "only pages"
    );
}

/// An island hydrates from the data sent with the page, and that must be the data its
/// HTML was rendered from. A page body built twice fetched everything twice: the HTML
/// showed the second fetch, the browser got the first, and an order that changed in
/// between (as one does just after it is submitted) broke the page's hydration.
#[tokio::test]
async fn a_page_fetches_its_islands_data_once() {
    let app = spawn_app().await;
    let started = app.start(&app.alice, "once-1", 700.0, 2).await;
    assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    let (alice, bob) = (app.session("alice").await, app.session("bob").await);

    for (path, session) in [
        ("/orders/po-once-1", &alice),
        ("/orders", &alice),
        ("/", &bob),
        ("/?tab=decided", &bob),
    ] {
        let page = app.send(page_get(path, session)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let html = page.body.as_str().expect("HTML");
        let data = island_data(html);
        let ids: Vec<u64> = data.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [0], "{path}: one island, its data fetched once");
    }
    let page = app.send(page_get("/orders/po-once-1", &alice)).await;
    let html = page.body.as_str().expect("HTML");
    let data = island_data(html);
    let order = &data[0].1["Ok"]["order"];
    assert_eq!(order["instance_id"], "po-once-1");
    let status = order["status"].as_str().expect("a status");
    assert!(
        html.contains(&format!("status big {status}")),
        "the HTML shows the status the data has ({status})"
    );
}

/// Listing the app's routes renders it under a flag that holds every resource in the
/// process back (leptos_router's `SuppressResourceLoad`). A router built while another
/// served pages left those pages waiting for their data until the request timeout: the
/// HTTP tests' rare 503 after 60 s. Routes are now listed once per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_another_router_never_stalls_a_page_being_rendered() {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Stops the builder however the test ends: the runtime waits for it on the way out.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let app = spawn_app().await;
    let bob = app.session("bob").await;
    let stop = Stop(Arc::new(AtomicBool::new(false)));
    // Another router built over and over, on a thread of its own, as the pages render.
    let builder = tokio::task::spawn_blocking({
        let (state, stop) = (app.state.clone(), stop.0.clone());
        move || {
            let mut built = 0_u32;
            while !stop.load(Ordering::Relaxed) {
                drop(server::app(state.clone()));
                built += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            built
        }
    });
    for round in 0..20 {
        let page = tokio::time::timeout(Duration::from_secs(10), app.send(page_get("/", &bob)))
            .await
            .unwrap_or_else(|_| panic!("render {round} stalled while a router was built"));
        assert_eq!(page.status, StatusCode::OK, "render {round}");
    }
    drop(stop);
    let built = builder.await.expect("the builder ends");
    assert!(built > 0, "no router was built meanwhile");
}

/// Leptos keeps the current reactive owner in a thread-local. A page still rendering
/// had its owner current on a thread where a stylesheet was then served, and the file
/// handler moved the page's headers (its Content-Security-Policy) onto the stylesheet.
/// Every request now runs under an owner of its own.
#[tokio::test]
async fn a_static_file_never_takes_the_headers_of_a_page_being_rendered() {
    use axum::http::HeaderValue;
    use leptos::prelude::{provide_context, Owner};
    let app = spawn_app().await;
    let pkg = app._dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).expect("a site directory");
    std::fs::write(pkg.join("approvals.css"), "main {}").expect("a stylesheet");

    // A page being rendered: its owner holds its response's options, and is current
    // on this thread (the test's runtime has one thread, so the request runs here).
    let page = Owner::new_root(None);
    let options = leptos_axum::ResponseOptions::default();
    page.with(|| provide_context(options.clone()));
    options.insert_header(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("script-src 'nonce-of-the-page'"),
    );
    page.set();

    let css = app
        .send(request(Method::GET, "/pkg/approvals.css", None, None, ""))
        .await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        !css.headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .contains("nonce-of-the-page"),
        "the stylesheet got the page's policy"
    );
    let kept = options
        .0
        .read()
        .expect("the page's options")
        .headers
        .contains_key(header::CONTENT_SECURITY_POLICY);
    assert!(kept, "the page lost its policy");
}

/// A path no route knows renders the app's 404 page, signed-in header and all.
#[tokio::test]
async fn an_unknown_path_is_a_404_page() {
    let app = spawn_app().await;
    let answer = app
        .send(request(Method::GET, "/no/such/page", None, None, ""))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::NOT_FOUND,
        "{:?} {:?}",
        answer.headers,
        answer.body
    );
    assert!(
        answer
            .body
            .as_str()
            .is_some_and(|html| html.contains("Page not found")),
        "{:?}",
        answer.body
    );
}
