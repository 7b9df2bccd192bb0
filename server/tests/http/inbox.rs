//! The lists: the inbox and the requester's orders, paging, sorting, who sees what,
//! and the decided orders as CSV.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use domain::Role;
use serde_json::json;

use crate::common::{error_text, island_data, page_get, request, spawn_app, Answer};

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

/// A requester who is not the order's: everything about it is "no such order".
#[tokio::test]
async fn requesters_see_only_their_own_orders_on_every_path() {
    let app = spawn_app().await;
    let dave = app.account_with_token("dave", Role::Requester).await;
    assert_eq!(
        app.start(&app.alice, "alices", 600.0, 2).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.start(&dave, "daves", 600.0, 2).await.status,
        StatusCode::OK
    );

    let status = app.get(&dave, "/status/po-alices").await;
    assert_eq!(status.status, StatusCode::NOT_FOUND, "{:?}", status.body);
    // The same answer as for an order that does not exist: nothing to probe.
    let unknown = app.get(&dave, "/status/po-nobodys").await;
    assert_eq!(
        error_text(&unknown).replace("po-nobodys", "ID"),
        error_text(&status).replace("po-alices", "ID")
    );
    assert_eq!(
        app.get(&dave, "/status/po-daves").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&app.bob, "/status/po-alices").await.status,
        StatusCode::OK
    );

    let listed = |answer: &Answer| -> Vec<String> {
        answer.body["orders"]
            .as_array()
            .map(|orders| {
                orders
                    .iter()
                    .filter_map(|o| o["instance_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let daves_list = app.get(&dave, "/api/orders").await;
    assert_eq!(listed(&daves_list), ["po-daves"]);
    assert_eq!(daves_list.body["total"], 1);
    let bobs_list = app.get(&app.bob, "/api/orders").await;
    assert_eq!(bobs_list.body["total"], 2);

    let decide = app
        .post(
            &dave,
            "/signal-approval/po-alices",
            json!({"approved": false}),
        )
        .await;
    assert_eq!(decide.status, StatusCode::NOT_FOUND);
}

/// Issue 13 §6: the inbox's Pending tab counts the orders that wait for its reader,
/// whichever tab or filter is open; the page renders it, and every refetch of the
/// inbox's island carries it, worded the same, for the browser to keep it current.
#[tokio::test]
async fn the_pending_tab_counts_what_waits_for_the_reader() {
    let app = spawn_app().await;
    for id in ["tab-1", "tab-2"] {
        let started = app.start(&app.alice, id, 1_500.0, 1).await;
        assert_eq!(started.status, StatusCode::OK, "{:?}", started.body);
    }
    let bob = app.session("bob").await;
    let count = |html: &str| {
        let (_, rest) = html.split_once(r#"<span id="waiting-count">"#)?;
        // Its text, without the markers Leptos leaves around a suspended part.
        rest.split_once("</span>")
            .map(|(count, _)| count.replace("<!>", ""))
    };
    for path in ["/", "/?q=nothing-matches", "/?tab=decided"] {
        let page = app.send(page_get(path, &bob)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let html = page.body.as_str().expect("HTML");
        assert_eq!(count(html).as_deref(), Some(" (2)"), "{path}");
        let data = island_data(html);
        assert_eq!(
            data[0].1["Ok"]["waiting"], " (2)",
            "{path}: the island's data"
        );
    }

    let decided = app
        .post(
            &app.bob,
            "/signal-approval/po-tab-1",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{:?}", decided.body);
    let page = app.send(page_get("/?tab=decided", &bob)).await;
    let html = page.body.as_str().expect("HTML");
    assert_eq!(count(html).as_deref(), Some(" (1)"));
}

#[tokio::test]
async fn decided_orders_download_as_csv() {
    let app = spawn_app().await;
    // Two of alice's orders decided (one with text a spreadsheet would run), one of
    // dave's decided, one of alice's still waiting.
    let dave_token = app.account_with_token("dave", Role::Requester).await;
    for (who, id, product) in [
        (&app.alice, "csv-1", "=HYPERLINK(\"http://evil.example\")"),
        (&app.alice, "csv-2", "Widget, large"),
        (&dave_token, "csv-3", "Gadget"),
        (&app.alice, "csv-4", "Waits"),
    ] {
        let answer = app
            .post(
                who,
                "/start-purchase-order",
                json!({"order_id": id, "cost": 600.0, "product": product, "quantity": 2}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }
    for (id, approved) in [("csv-1", true), ("csv-2", false), ("csv-3", true)] {
        let answer = app
            .post(
                &app.bob,
                &format!("/signal-approval/po-{id}"),
                json!({"approved": approved, "comment": "@checked"}),
            )
            .await;
        assert!(answer.status.is_success(), "{id}: {:?}", answer.body);
    }

    let csv = |answer: &Answer| answer.body.as_str().unwrap_or_default().to_owned();
    let manager = app.get(&app.bob, "/api/orders.csv").await;
    assert_eq!(manager.status, StatusCode::OK, "{:?}", manager.body);
    assert!(manager.headers[header::CONTENT_TYPE]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/csv")));
    assert!(manager.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .is_ok_and(|d| d.starts_with("attachment; filename=\"orders-decided-")));
    let text = csv(&manager);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("order_id,instance_id,product,quantity,unit_cost,total,status"));
    assert_eq!(
        lines.len(),
        4,
        "a header and the three decided orders: {text}"
    );
    assert!(
        !text.contains("csv-4"),
        "a waiting order is not decided: {text}"
    );
    // A formula stays text; a comma is quoted; amounts are plain numbers.
    assert!(
        text.contains(r#""'=HYPERLINK(""http://evil.example"")""#),
        "{text}"
    );
    assert!(text.contains(r#""Widget, large""#), "{text}");
    assert!(
        text.contains(",600.00,1200.00,rejected,Rejected by bob,"),
        "{text}"
    );
    assert!(text.contains(",'@checked"), "{text}");

    // A requester gets their own decided orders only.
    let alice = csv(&app.get(&app.alice, "/api/orders.csv").await);
    assert!(
        alice.contains("csv-1") && alice.contains("csv-2"),
        "{alice}"
    );
    assert!(
        !alice.contains("csv-3"),
        "dave's order is not alice's: {alice}"
    );

    // The filter and the status narrow it; a status that is not final is refused.
    let approved = csv(&app.get(&app.bob, "/api/orders.csv?status=approved").await);
    assert_eq!(approved.lines().count(), 3, "{approved}");
    let gadget = csv(&app.get(&app.bob, "/api/orders.csv?q=Gadget").await);
    assert_eq!(gadget.lines().count(), 2, "{gadget}");
    let waiting = app
        .get(&app.bob, "/api/orders.csv?status=awaiting_approval")
        .await;
    assert_eq!(waiting.status, StatusCode::BAD_REQUEST);
    assert!(error_text(&waiting).contains("not a decided status"));

    // In a browser, the session cookie signs in; without anything, 401.
    let session = app.session("bob").await;
    let browser = app
        .send(
            Request::builder()
                .uri("/api/orders.csv")
                .header(header::COOKIE, format!("approvals_session={session}"))
                .body(Body::empty())
                .expect("a request"),
        )
        .await;
    assert_eq!(browser.status, StatusCode::OK);
    assert_eq!(csv(&browser), text);
    let nobody = app
        .send(request(Method::GET, "/api/orders.csv", None, None, ""))
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn lists_sort_by_deadline_amount_or_submission() {
    let app = spawn_app().await;
    // Submitted in this order; totals 2400, 1200, 3600.
    for (id, cost) in [("s-a", 1200.0), ("s-b", 600.0), ("s-c", 1800.0)] {
        assert_eq!(
            app.start(&app.alice, id, cost, 2).await.status,
            StatusCode::OK
        );
    }
    let ids = |answer: &Answer| -> Vec<String> {
        answer.body["orders"]
            .as_array()
            .map(|orders| {
                orders
                    .iter()
                    .filter_map(|o| o["order_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let list = |sort: &str| {
        let path = format!("/api/orders?status=awaiting_approval&sort={sort}");
        let app = &app;
        async move { app.get(&app.bob, &path).await }
    };
    assert_eq!(ids(&list("amount").await), ["s-c", "s-a", "s-b"]);
    assert_eq!(ids(&list("created").await), ["s-c", "s-b", "s-a"]);
    assert_eq!(ids(&list("deadline").await), ["s-a", "s-b", "s-c"]);
    let unknown = list("price").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(error_text(&unknown).contains("deadline, amount, created"));

    // The inbox page sorts on the server, and its pager links keep the sort.
    let bob = app.session("bob").await;
    let page = app.send(page_get("/?sort=amount", &bob)).await;
    let html = page.body.as_str().unwrap_or_default();
    let at = |id: &str| {
        html.find(&format!("data-instance=\"po-{id}\""))
            .unwrap_or(usize::MAX)
    };
    assert!(
        at("s-c") < at("s-a") && at("s-a") < at("s-b"),
        "largest first"
    );
    assert!(
        html.contains(r#"<option value="amount" selected"#),
        "the control shows the sort"
    );
    let page = app.send(page_get("/?sort=created", &bob)).await;
    let html = page.body.as_str().unwrap_or_default();
    let at = |id: &str| {
        html.find(&format!("data-instance=\"po-{id}\""))
            .unwrap_or(usize::MAX)
    };
    assert!(
        at("s-c") < at("s-b") && at("s-b") < at("s-a"),
        "newest first"
    );
}

/// Search text past its bound is refused with a message a person can act on, in the CSV
/// export and in the inbox's lists alike (422, the field named): a
/// 60,000-character search once answered 500, as SQLite refuses such a `LIKE` pattern.
#[tokio::test]
async fn a_search_past_its_bound_is_refused_with_a_message() {
    let app = spawn_app().await;
    let long = "x".repeat(60_000);
    let export = app
        .get(&app.bob, &format!("/api/orders.csv?q={long}"))
        .await;
    assert_eq!(
        export.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        export.body
    );
    assert!(
        export.body.to_string().contains("at most 200 characters"),
        "{:?}",
        export.body
    );
    let session = app.session("bob").await;
    for list in ["/api/inbox", "/api/decided"] {
        let answer = app
            .send(crate::common::form_post(
                list,
                Some(&session),
                Some(&format!("http://{}", crate::common::SITE)),
                &format!("text={long}&offset=0&sort="),
            ))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{list}: {:?}",
            answer.body
        );
        assert!(
            answer.body.to_string().contains("at most 200 characters"),
            "{list}: {:?}",
            answer.body
        );
    }
}

/// The export reads its pages by key: orders decided while a long file is being sent
/// shift nothing, so no row comes twice and none is skipped (by offset, the row at a
/// page's end came again at the next page's start).
#[tokio::test]
async fn an_export_holds_still_while_orders_are_decided() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = spawn_app().await;
    // Under $1,000 an order is approved at once: 505 decided orders, two pages and more.
    for i in 0..505 {
        let answer = app.start(&app.alice, &format!("e-{i:03}"), 10.0, 1).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }
    // The outcomes land in the read model a moment after the answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let decided = app
            .get(&app.bob, "/api/orders?status=auto_approved&limit=1")
            .await;
        if decided.body["total"] == 505 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", decided.body);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let response = app
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/api/orders.csv")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.bob))
                .body(Body::empty())
                .expect("a request"),
        )
        .await
        .expect("the router answers");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut text = String::new();
    let first = body
        .frame()
        .await
        .expect("a first page")
        .expect("a frame")
        .into_data()
        .expect("data");
    text.push_str(&String::from_utf8_lossy(&first));
    // Decided after the first page went out: newest first, so before all of it.
    for i in 0..3 {
        let answer = app.start(&app.alice, &format!("late-{i}"), 10.0, 1).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    }
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("a frame").into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next())
        .collect();
    let unique: std::collections::HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a row came twice");
    assert_eq!(ids.len(), 505, "each order decided before the export, once");
}
