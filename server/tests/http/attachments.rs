//! The browser's side of attached files (issue 25 §4): the order form posted with
//! files, and the order page's upload form, as plain `multipart/form-data` posts.
//! Files are kept in memory here; `tests/api/attachments.rs` runs them through
//! daprd's real local-storage binding.

use axum::http::{header, StatusCode};

use crate::common::{multipart_post, order_row, page_get, spawn_app, waiting_order, TestApp};

const PDF: &[u8] = b"%PDF-1.4\n% a quote\ntrailer << >>\n%%EOF\n";
const HTML: &[u8] = b"<!DOCTYPE html><html><script>alert(1)</script></html>";

fn location(answer: &crate::common::Answer) -> String {
    answer.headers[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned()
}

/// The page a 303 sends `session` to, as text (Leptos' `<!>` markers taken out).
async fn page_after(app: &TestApp, answer: &crate::common::Answer, session: &str) -> String {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = app.send(page_get(&location(answer), session)).await;
    page.body.as_str().unwrap_or_default().replace("<!>", "")
}

fn order_form<'a>(
    order_id: &'a str,
    product: &'a str,
    file: Option<(&'a str, &'a [u8])>,
) -> Vec<(&'a str, Option<&'a str>, &'a [u8])> {
    let mut parts = vec![
        ("product", None, product.as_bytes()),
        ("unit_cost", None, &b"2000"[..]),
        ("quantity", None, &b"1"[..]),
        ("order_id", None, order_id.as_bytes()),
    ];
    match file {
        Some((name, bytes)) => parts.push(("file", Some(name), bytes)),
        // A file input left empty: a part with no name and no bytes.
        None => parts.push(("file", Some(""), &b""[..])),
    }
    parts
}

#[tokio::test]
async fn the_order_form_with_a_refused_file_starts_nothing_and_comes_back_with_what_was_typed() {
    let app = spawn_app().await;
    let alice = app.session("alice").await;

    // An HTML file named .pdf: no order, nothing stored, the form again with the reason.
    let refused = app
        .send(multipart_post(
            "/orders/new",
            Some(&alice),
            None,
            &order_form("form-1", "Oak desk", Some(("invoice.pdf", HTML))),
        ))
        .await;
    let page = page_after(&app, &refused, &alice).await;
    assert!(
        location(&refused).starts_with("/orders/new?"),
        "{}",
        location(&refused)
    );
    assert!(page.contains("not a PDF, PNG or JPEG"), "{page}");
    assert!(
        page.contains("value=\"Oak desk\""),
        "what was typed is kept: {page}"
    );
    assert_eq!(app.order_count().await, 0);
    assert!(app.files.is_empty());

    // A field refused beside a good file: nothing stored either.
    let refused = app
        .send(multipart_post(
            "/orders/new",
            Some(&alice),
            None,
            &order_form("form-1", "", Some(("quote.pdf", PDF))),
        ))
        .await;
    let page = page_after(&app, &refused, &alice).await;
    assert!(
        page.contains("Enter the product name."),
        "beside its field: {page}"
    );
    assert_eq!(app.order_count().await, 0);
    assert!(app.files.is_empty());

    // The quote goes in with the order; the page lists it.
    let started = app
        .send(multipart_post(
            "/orders/new",
            Some(&alice),
            None,
            &order_form("form-1", "Oak desk", Some(("Quote.pdf", PDF))),
        ))
        .await;
    assert_eq!(location(&started), "/orders/po-form-1");
    assert_eq!(order_row(&app, "po-form-1").await.attachments, 1);
    assert_eq!(app.files.len(), 1);
    let page = page_after(&app, &started, &alice).await;
    assert!(
        page.contains("Quote.pdf") && page.contains("data-testid=\"files\""),
        "{page}"
    );

    // No file chosen (an empty file part): the order alone.
    let plain = app
        .send(multipart_post(
            "/orders/new",
            Some(&alice),
            None,
            &order_form("form-2", "Lamp", None),
        ))
        .await;
    assert_eq!(location(&plain), "/orders/po-form-2");
    assert_eq!(order_row(&app, "po-form-2").await.attachments, 0);

    // Not signed in: to the sign-in page; from another site: refused outright.
    let anonymous = app
        .send(multipart_post(
            "/orders/new",
            None,
            None,
            &order_form("form-3", "Chair", Some(("q.pdf", PDF))),
        ))
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous), "/login");
    let forged = app
        .send(multipart_post(
            "/orders/new",
            Some(&alice),
            Some("http://evil.example"),
            &order_form("form-3", "Chair", Some(("q.pdf", PDF))),
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.order_count().await, 2);
    assert_eq!(app.files.len(), 1);
}

#[tokio::test]
async fn the_order_page_form_attaches_for_the_requester_only() {
    let app = spawn_app().await;
    let id = waiting_order(&app, &app.alice, "page-1", 2500.0).await;
    let path = format!("/orders/{id}/attachments");
    let (alice, bob) = (app.session("alice").await, app.session("bob").await);

    let refused = app
        .send(multipart_post(
            &path,
            Some(&bob),
            None,
            &[("file", Some("bob.pdf"), PDF)],
        ))
        .await;
    let page = page_after(&app, &refused, &bob).await;
    assert!(
        page.contains("Only the order's requester attaches files"),
        "{page}"
    );
    assert!(
        !page.contains("Attach the quote"),
        "a manager gets no upload form: {page}"
    );

    let attached = app
        .send(multipart_post(
            &path,
            Some(&alice),
            None,
            &[("file", Some("quote.pdf"), PDF)],
        ))
        .await;
    assert!(
        location(&attached).ends_with("?attached=1"),
        "{}",
        location(&attached)
    );
    let page = page_after(&app, &attached, &alice).await;
    assert!(
        page.contains(&format!("href=\"/api/orders/{id}/attachments/")),
        "{page}"
    );
    // bob sees it on his page too, and downloads it with his session.
    let page = app.send(page_get(&format!("/orders/{id}"), &bob)).await;
    assert!(page.body.as_str().unwrap_or_default().contains("quote.pdf"));
    let file_id = app
        .get(&app.alice, &format!("/api/orders/{id}/attachments"))
        .await
        .body[0]["id"]
        .clone();
    let download = app
        .send(page_get(
            &format!("/api/orders/{id}/attachments/{file_id}"),
            &bob,
        ))
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(download.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap_or_default()
        .starts_with("attachment;"));
}
