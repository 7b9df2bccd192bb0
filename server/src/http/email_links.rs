//! `/act/{token}`: an e-mail's Approve or Reject link. Mail scanners and link previews
//! open links, so the `GET` only shows what the link would do (the order's summary, an
//! optional comment, one button); the button's `POST` decides, as the link's
//! recipient, without a sign-in (`services::orders::by_link` holds the rules).
//!
//! Plain server-rendered pages with no script: they work in any mail client's browser.
//! They send `Referrer-Policy: no-referrer`, so the token in the address never leaves
//! in a `Referer`, and are never cached (see `whole_pages`). A link that does not
//! decide answers 404 (not known) or 410 (used, expired, or no longer applies), with a
//! page that says why and links to the sign-in; posts count against the client's
//! sign-in allowance.

use app::state::AppState;
use axum::extract::{Form, Path, State};
use axum::http::header::{REFERRER_POLICY, RETRY_AFTER};
use axum::http::{request::Parts, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use backend::services::orders::by_link::{LinkError, LinkOffer, LinkRefused};
use backend::ServiceError;
use domain::Decision;
use leptos::prelude::*;
use serde::Deserialize;

use super::error::explained;

/// The confirmation's form.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LinkForm {
    /// An optional comment kept with the decision (at most 500 characters).
    #[serde(default)]
    pub comment: String,
}

/// What a link would decide, and a button to confirm it.
#[utoipa::path(
    get, path = "/act/{token}", tag = "e-mail links",
    params(("token" = String, Path, description = "The token of an e-mail's Approve or Reject link")),
    responses(
        (status = 200, description = "The confirmation page (HTML): the order's summary and one button; nothing is decided", content_type = "text/html"),
        (status = 404, description = "No such link (mistyped, cut short or tampered with); the page says so", content_type = "text/html"),
        (status = 410, description = "The link was used, expired at the order's deadline, or no longer applies (the order moved on, or its recipient may no longer decide it); the page says which", content_type = "text/html"),
        (status = 503, description = "The database is busy; try again", content_type = "text/html"),
    )
)]
pub async fn offer(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.orders.link_offer(&token).await {
        Ok(offer) => page(StatusCode::OK, &title(&offer), confirmation(&token, &offer)),
        Err(e) => refused(e),
    }
}

/// Decides with a link, once.
#[utoipa::path(
    post, path = "/act/{token}", tag = "e-mail links",
    params(("token" = String, Path, description = "The token of an e-mail's Approve or Reject link")),
    request_body(content = LinkForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Decided and confirmed by the workflow (HTML)", content_type = "text/html"),
        (status = 202, description = "Decision recorded and sent; the workflow has not confirmed it yet (HTML)", content_type = "text/html"),
        (status = 403, description = "The post did not come from this site's own page", content_type = "text/html"),
        (status = 404, description = "No such link", content_type = "text/html"),
        (status = 410, description = "The link was used, expired, or no longer applies; nothing was decided", content_type = "text/html"),
        (status = 415, description = "The body was not sent as a form (application/x-www-form-urlencoded)"),
        (status = 422, description = "The comment is too long or holds hidden characters, or the form could not be read; the link was not used", content_type = "text/html"),
        (status = 429, description = "Too many attempts from this client; try again after Retry-After seconds", content_type = "text/html"),
        (status = 503, description = "The workflow engine or the database cannot take it now; the link was not used", content_type = "text/html"),
    )
)]
pub async fn act(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    Form(form): Form<LinkForm>,
) -> Response {
    if let Err(e) = state.sign_in.admit_client(state.sign_in.client_of(&parts)) {
        return refused(e.into());
    }
    let comment = Some(form.comment.as_str()).filter(|c| !c.trim().is_empty());
    match state.orders.decide_by_link(&token, comment).await {
        Ok(decided) => {
            let status = if decided.confirmed {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            let order = format!("/orders/{}", decided.instance_id);
            page(
                status,
                "Decision recorded",
                view! {
                    <h1>"Thank you"</h1>
                    <p class="notice ok" data-testid="link-result">{decided.message}</p>
                    <p><a href=order>"See the order"</a>" (sign in)"</p>
                }
                .into_any(),
            )
        }
        Err(e) => refused(e),
    }
}

fn title(offer: &LinkOffer) -> String {
    format!("{} order {}?", verb(offer.decision), offer.order.order_id)
}

fn verb(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => "Approve",
        Decision::Reject => "Reject",
        Decision::Cancel => "Cancel",
    }
}

fn confirmation(token: &str, offer: &LinkOffer) -> AnyView {
    let o = offer.order.clone();
    let verb = verb(offer.decision);
    let class = match offer.decision {
        Decision::Approve => "approve",
        _ => "reject",
    };
    let deadline = o
        .approval_deadline
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string());
    let button = format!("{verb} order {}", o.order_id);
    view! {
        <h1>{title(offer)}</h1>
        <p>
            "You are deciding as " <strong>{offer.recipient.clone()}</strong>
            ". Nothing is decided until you press the button."
        </p>
        <dl class="facts" data-testid="link-summary">
            <dt>"Product"</dt><dd>{o.product.clone()}</dd>
            <dt>"Quantity"</dt><dd>{o.quantity}</dd>
            <dt>"Unit cost"</dt><dd class="money">{o.unit_cost.to_string()}</dd>
            <dt>"Total"</dt><dd class="money">{o.total.to_string()}</dd>
            <dt>"Requester"</dt><dd>{o.requested_by.clone().unwrap_or_else(|| "—".into())}</dd>
            {deadline.map(|d| view! { <dt>"Deadline"</dt><dd data-testid="link-deadline">{d}</dd> })}
        </dl>
        <form method="post" action=format!("/act/{token}") class="stack">
            <label for="comment">"Comment (optional)"</label>
            <input id="comment" name="comment" maxlength="500" autocomplete="off"/>
            <button type="submit" class=class data-testid="link-confirm">{button}</button>
        </form>
        <p><a href=format!("/orders/{}", o.instance_id)>"Open the order instead"</a>" (sign in)"</p>
    }
    .into_any()
}

/// Why a link did nothing, as a page with the status that says it.
fn refused(e: LinkError) -> Response {
    let (status, message, retry_after) = match e {
        LinkError::Refused(why) => {
            let status = match why {
                LinkRefused::Unknown => StatusCode::NOT_FOUND,
                _ => StatusCode::GONE,
            };
            (status, why.to_string(), None)
        }
        LinkError::Service(ServiceError::TooManyAttempts { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts from here; try again in a little while.".to_owned(),
            Some(retry_after.as_secs().max(1)),
        ),
        LinkError::Service(e) => {
            let (status, message) = explained(e, "deciding by an e-mail link");
            (status, message, None)
        }
    };
    let mut response = page(
        status,
        "This link did not decide",
        view! {
            <h1>"Nothing was decided"</h1>
            <p class="notice error" data-testid="link-refused">{message}</p>
            <p><a href="/login">"Sign in"</a></p>
        }
        .into_any(),
    );
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(RETRY_AFTER, seconds.into());
    }
    response
}

/// A whole page around `content`, with the site's stylesheet and no script. The
/// document's frame is written here: a title is raw text, where Leptos' markers would
/// show.
fn page(status: StatusCode, title: &str, content: AnyView) -> Response {
    let body = Owner::new().with(|| content.to_html());
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Approvals</title>\
         <link rel=\"stylesheet\" href=\"/pkg/approvals.css\"></head>\
         <body><main id=\"main\" class=\"card narrow link-page\">{body}</main></body></html>",
        html_escape::encode_text(title)
    );
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
