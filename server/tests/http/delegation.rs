//! Approval levels, a delegate deciding for someone away, and the settings page.

use std::time::Duration;

use axum::http::{header, StatusCode};
use backend::rules::approval_policy::ApprovalPolicy;
use backend::services::accounts;
use domain::Role;
use serde_json::json;

use crate::common::{
    error_text, form_post, from_another_site, outcome, page_get, spawn_app, spawn_app_with, Answer,
    SITE,
};

#[tokio::test]
async fn a_person_sets_and_clears_their_email_address_on_the_settings_page() {
    let app = spawn_app().await;
    let alice = app.session("alice").await;
    let origin = format!("http://{SITE}");
    let post = |body: &str| form_post("/settings/email", Some(&alice), Some(&origin), body);
    let page = |path: &str| page_get(path, &alice);
    let html = |answer: &Answer| answer.body.as_str().unwrap_or_default().to_owned();

    let empty = app.send(page("/settings")).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(html(&empty).contains(r#"action="/settings/email""#));

    let saved = app.send(post("email=+alice%40example.com+")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let back = saved.headers[header::LOCATION]
        .to_str()
        .expect("a location");
    assert_eq!(back, "/settings?saved=1");
    let shown = html(&app.send(page(back)).await);
    assert!(
        shown.contains("Your e-mail address is alice@example.com."),
        "{shown}"
    );
    assert!(shown.contains(r#"value="alice@example.com""#), "{shown}");
    assert_eq!(
        accounts::email_of(&app.db, "alice")
            .await
            .expect("read")
            .as_deref(),
        Some("alice@example.com")
    );

    // Refused: the address stays as it was, and the page says what to change.
    let refused = app.send(post("email=alice%40localhost")).await;
    let back = refused.headers[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned();
    let shown = html(&app.send(page(&back)).await);
    assert!(shown.contains("the domain needs a dot"), "{shown}");
    assert!(shown.contains(r#"aria-invalid="true""#), "{shown}");
    assert_eq!(
        accounts::email_of(&app.db, "alice")
            .await
            .expect("read")
            .as_deref(),
        Some("alice@example.com")
    );
    // A link cannot make the page say anything.
    let forged = html(
        &app.send(page("/settings?settings_error=Call+us&settings_seal=00"))
            .await,
    );
    assert!(!forged.contains("Call us"));

    // Empty clears it.
    app.send(post("email=")).await;
    assert_eq!(
        accounts::email_of(&app.db, "alice").await.expect("read"),
        None
    );
    assert!(html(&app.send(page("/settings?saved=1")).await)
        .contains("You have no e-mail address now."));

    // Only the signed-in person's own address, only from our own pages.
    let cross_site = app
        .send(from_another_site(
            "/settings/email",
            &alice,
            "email=mallory%40evil.example",
        ))
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let signed_out = app
        .send(form_post(
            "/settings/email",
            None,
            Some(&origin),
            "email=x%40example.com",
        ))
        .await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_out.headers[header::LOCATION], "/login");
    assert_eq!(
        accounts::email_of(&app.db, "alice").await.expect("read"),
        None
    );
}

/// Managers for every order from $1,000, a director too from $10,000.
fn two_level_policy() -> ApprovalPolicy {
    ApprovalPolicy::parse(
        "[[level]]\nrole = \"manager\"\n[[level]]\nrole = \"director\"\nfrom = 10000",
        Duration::from_secs(3600),
    )
    .expect("a valid policy")
}

/// Under a policy, an order is asked level after level: each level only of those whose
/// role reaches it, nobody twice, and the outcome names every approver in turn.
#[tokio::test]
async fn approval_levels_are_asked_in_turn_with_four_eyes() {
    let app = spawn_app_with(Some(two_level_policy())).await;
    let dora = app.session("dora").await;
    let dora_token = accounts::create_api_token(&app.db, "dora", None)
        .await
        .expect("a token")
        .1;
    let decide = |token: &str, instance: &str, approved: bool| {
        let (token, path) = (token.to_owned(), format!("/signal-approval/{instance}"));
        let app = &app;
        async move {
            app.post(
                &token,
                &path,
                json!({"approved": approved, "comment": "seen"}),
            )
            .await
        }
    };
    let (bob, carol) = (app.session("bob").await, app.session("carol").await);

    // One level below $10,000: the seed's text.
    assert_eq!(
        app.start(&app.alice, "small", 2_000.0, 1).await.status,
        StatusCode::OK
    );
    let one = decide(&app.bob, "po-small", true).await;
    assert_eq!(one.status, StatusCode::OK, "{:?}", one.body);
    assert_eq!(
        outcome(&app, &app.alice, "po-small").await,
        "Approved by bob"
    );

    // Two levels: a manager first, then a director.
    assert_eq!(
        app.start(&app.alice, "big", 20_000.0, 1).await.status,
        StatusCode::OK
    );
    assert!(app.inbox_ids(&bob).await.contains(&"po-big".to_owned()));
    assert!(
        app.inbox_ids(&dora).await.contains(&"po-big".to_owned()),
        "a director decides a managers' level too"
    );
    let first = decide(&app.bob, "po-big", true).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert!(
        first.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("now waits for a director")),
        "{:?}",
        first.body
    );
    assert_eq!(first.body["status"], "awaiting_approval");
    // Level 2 is the director's: gone from the managers' inboxes, refused to them.
    assert!(!app.inbox_ids(&bob).await.contains(&"po-big".to_owned()));
    assert!(!app.inbox_ids(&carol).await.contains(&"po-big".to_owned()));
    assert!(app.inbox_ids(&dora).await.contains(&"po-big".to_owned()));
    let by_manager = decide(&app.carol, "po-big", true).await;
    assert_eq!(by_manager.status, StatusCode::FORBIDDEN);
    assert!(
        error_text(&by_manager).contains("is for a director"),
        "{:?}",
        by_manager.body
    );
    let last = decide(&dora_token, "po-big", true).await;
    assert_eq!(last.status, StatusCode::OK, "{:?}", last.body);
    assert_eq!(
        outcome(&app, &app.alice, "po-big").await,
        "Approved by bob, dora"
    );

    // Four eyes: the director who approved level 1 cannot approve level 2 as well.
    assert_eq!(
        app.start(&app.alice, "twice", 30_000.0, 1).await.status,
        StatusCode::OK
    );
    assert_eq!(
        decide(&dora_token, "po-twice", true).await.status,
        StatusCode::OK
    );
    assert!(!app.inbox_ids(&dora).await.contains(&"po-twice".to_owned()));
    let again = decide(&dora_token, "po-twice", true).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert!(error_text(&again).contains("four eyes"), "{:?}", again.body);

    // A rejection at level 2 ends it; the timeline keeps level 1's approval.
    assert_eq!(
        app.start(&app.alice, "no", 15_000.0, 1).await.status,
        StatusCode::OK
    );
    assert_eq!(decide(&app.bob, "po-no", true).await.status, StatusCode::OK);
    assert_eq!(
        decide(&dora_token, "po-no", false).await.status,
        StatusCode::OK
    );
    assert_eq!(outcome(&app, &app.alice, "po-no").await, "Rejected by dora");
    let alice = app.session("alice").await;
    let page = app.send(page_get("/orders/po-no", &alice)).await;
    let html = page.body.as_str().expect("HTML");
    assert!(
        html.contains("Level 1 of 2 approved by bob: “seen”"),
        "{html}"
    );
    assert!(html.contains("Approval requested from a director (level 2 of 2)"));
    assert!(html.contains("Approval requested from a manager (level 1 of 2)"));
}

/// Issue 13 §4: a director away hands her decisions to a manager on the settings page.
/// He sees and decides her level for her, and the record says so; he cannot use it on
/// a level he or she already approved, nor hand on what he holds; it ends when she says.
#[tokio::test]
async fn a_delegate_decides_for_the_person_away_and_the_record_says_so() {
    let app = spawn_app_with(Some(two_level_policy())).await;
    let origin = format!("http://{SITE}");
    let (dora, carol) = (app.session("dora").await, app.session("carol").await);
    let dora_token = accounts::create_api_token(&app.db, "dora", None)
        .await
        .expect("a token")
        .1;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let delegate = |session: &str, body: String| {
        let request = form_post("/settings/delegation", Some(session), Some(&origin), &body);
        let session = session.to_owned();
        let app = &app;
        async move {
            let answer = app.send(request).await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER);
            let back = answer.headers[header::LOCATION]
                .to_str()
                .expect("a location")
                .to_owned();
            let page = app.send(page_get(&back, &session)).await;
            (back, page.body.as_str().unwrap_or_default().to_owned())
        }
    };
    let decide = |token: &str, instance: &str| {
        let (token, path) = (token.to_owned(), format!("/signal-approval/{instance}"));
        let app = &app;
        async move { app.post(&token, &path, json!({"approved": true})).await }
    };

    // Mistakes come back to the page, worded for the person; nothing is saved.
    for (body, says) in [
        // Worded by the app, never naming what was typed (forms.rs: the refusal).
        (
            format!("delegate=alice&until={tomorrow}"),
            "Choose a manager or director who has an account here.",
        ),
        (
            format!("delegate=dora&until={tomorrow}"),
            "someone other than yourself",
        ),
        (
            format!("delegate=nobody&until={tomorrow}"),
            "Choose a manager or director who has an account here.",
        ),
        (
            "delegate=carol&until=soon".to_owned(),
            "as a date (YYYY-MM-DD)",
        ),
        (
            "delegate=carol&until=2020-01-01".to_owned(),
            "in the future",
        ),
    ] {
        let (_, page) = delegate(&dora, body).await;
        assert!(page.contains(says), "{says}: {page}");
    }
    // A requester has no decisions to hand on.
    let alice = app.session("alice").await;
    let (_, page) = delegate(&alice, format!("delegate=carol&until={tomorrow}")).await;
    assert!(page.contains("only they can delegate"), "{page}");
    assert!(backend::services::delegation::current(
        &app.db,
        None,
        backend::kernel::clock::now_ms()
    )
    .await
    .expect("reads")
    .is_empty());

    let (back, page) = delegate(&dora, format!("delegate=carol&until={tomorrow}")).await;
    assert_eq!(back, "/settings?delegated=1");
    assert!(page.contains("To carol until"), "{page}");
    let carols = app.send(page_get("/settings", &carol)).await;
    assert!(carols
        .body
        .as_str()
        .unwrap_or_default()
        .contains("You decide for dora until"));

    // Level 2 is a director's: carol, a manager, decides it for dora.
    assert_eq!(
        app.start(&app.alice, "away-1", 20_000.0, 1).await.status,
        StatusCode::OK
    );
    assert_eq!(decide(&app.bob, "po-away-1").await.status, StatusCode::OK);
    assert!(app
        .inbox_ids(&carol)
        .await
        .contains(&"po-away-1".to_owned()));
    // The order's own page (its detail, as the API serves it too) offers her the
    // decision: she may take it for dora.
    let detail = app.get(&app.carol, "/api/orders/po-away-1").await;
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    assert_eq!(detail.body["can_decide"], json!(true), "{:?}", detail.body);
    let for_dora = decide(&app.carol, "po-away-1").await;
    assert_eq!(for_dora.status, StatusCode::OK, "{:?}", for_dora.body);
    assert_eq!(
        outcome(&app, &app.alice, "po-away-1").await,
        "Approved by bob, carol for dora"
    );

    // Four eyes counts both: carol approved level 1, so she cannot do level 2 for dora.
    assert_eq!(
        app.start(&app.alice, "away-2", 20_000.0, 1).await.status,
        StatusCode::OK
    );
    assert_eq!(decide(&app.carol, "po-away-2").await.status, StatusCode::OK);
    assert!(!app
        .inbox_ids(&carol)
        .await
        .contains(&"po-away-2".to_owned()));
    let twice = decide(&app.carol, "po-away-2").await;
    assert_eq!(twice.status, StatusCode::FORBIDDEN);
    // No chains: dora hands hers to bob too; bob hands his to erin; erin gets bob's
    // role only, never dora's.
    let erin = app.account_with_token("erin", Role::Manager).await;
    let bob = app.session("bob").await;
    delegate(&dora, format!("delegate=bob&until={tomorrow}")).await;
    delegate(&bob, format!("delegate=erin&until={tomorrow}")).await;
    let chained = decide(&erin, "po-away-2").await;
    assert_eq!(chained.status, StatusCode::FORBIDDEN, "{:?}", chained.body);
    assert_eq!(
        decide(&app.bob, "po-away-2").await.status,
        StatusCode::OK,
        "bob for dora"
    );
    assert_eq!(
        outcome(&app, &app.alice, "po-away-2").await,
        "Approved by carol, bob for dora"
    );

    // Ended: carol holds nothing of dora's any more.
    let mine = backend::services::delegation::current(
        &app.db,
        Some("dora"),
        backend::kernel::clock::now_ms(),
    )
    .await
    .expect("reads");
    for d in mine {
        let ended = app
            .send(form_post(
                "/settings/delegation/revoke",
                Some(&dora),
                Some(&origin),
                &format!("id={}", d.id),
            ))
            .await;
        assert_eq!(ended.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(
        app.start(&app.alice, "away-3", 20_000.0, 1).await.status,
        StatusCode::OK
    );
    assert_eq!(
        decide(&dora_token, "po-away-3").await.status,
        StatusCode::OK
    );
    assert!(!app
        .inbox_ids(&carol)
        .await
        .contains(&"po-away-3".to_owned()));
    assert_eq!(
        decide(&app.carol, "po-away-3").await.status,
        StatusCode::FORBIDDEN
    );
}
