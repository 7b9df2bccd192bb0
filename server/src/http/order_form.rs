//! `POST /orders/new`: the order form as the browser posts it itself, as
//! `multipart/form-data`: with files chosen (a server function takes no files), or
//! before the page is live, or without JavaScript. Its fields and each file's size and
//! kind are checked before anything is written, and the files are stored before the
//! order's workflow starts (`OrderService::start_with_files`), so the first e-mail
//! names them and a refusal leaves nothing behind. A refusal comes back to the form
//! as `SubmitOrder`'s own do (`app::api::refused_page`): each field's error next to it,
//! what was typed filled in, sealed for the person who posted.

use app::api::{generated_order_id, refused_page, AppError, SubmitOrder};
use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use backend::ServiceError;
use domain::MAX_ATTACHMENTS;
use leptos::server_fn::ServerFn;

use super::attachments::{about, read_multipart, Posted, Unread};

/// The fields the form keeps when it comes back.
const TYPED: [&str; 4] = ["product", "unit_cost", "quantity", "order_id"];

/// The order form's post (a page's plumbing: not in the API document; the JSON API's
/// are `POST /start-purchase-order` and `POST /api/orders/{instance_id}/attachments`).
pub async fn new_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let back = |posted: Option<&Posted>, error: AppError| {
        let kept: Vec<(&'static str, String)> = TYPED
            .into_iter()
            .map(|name| {
                (
                    name,
                    posted.map(|p| p.field(name)).unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let origin = state.site.public_origin().trim_end_matches('/');
        let page = format!("{origin}/orders/new");
        let url = refused_page(
            &state.site,
            &headers,
            &page,
            SubmitOrder::url(),
            &error,
            &kept,
        )
        .unwrap_or(page);
        // Back on this site, whatever origin the page was built on.
        super::see_other(url.strip_prefix(origin).map(str::to_owned).unwrap_or(url))
    };
    let user = match state.site.user(&state.db, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return super::see_other("/login".into()),
        Err(e) => return back(None, e.into()),
    };
    let posted = match read_multipart(request, MAX_ATTACHMENTS as usize).await {
        Ok(posted) => posted,
        Err(Unread::Malformed(why)) => return back(None, AppError::BadRequest(why)),
        Err(Unread::Refused(e)) => return back(None, file_refusal(e)),
    };
    let order_id = match posted.field("order_id").trim() {
        "" => generated_order_id(),
        given => given.to_owned(),
    };
    let order = match domain::parse_form(
        &order_id,
        posted.field("product"),
        posted.field("unit_cost"),
        posted.field("quantity"),
    ) {
        Ok(order) => order,
        Err(errors) => return back(Some(&posted), AppError::Invalid(errors)),
    };
    for file in &posted.files {
        if let Err(e) = file.kind() {
            return back(Some(&posted), file_refusal(about(e, &file.name)));
        }
    }
    let typed = Posted {
        fields: posted.fields,
        files: Vec::new(),
    };
    match state
        .orders
        .start_with_files(order, &user, posted.files)
        .await
    {
        Ok(started) => super::see_other(format!("/orders/{}", started.instance_id)),
        Err(e) => back(Some(&typed), e.into()),
    }
}

/// A file's refusal as the form's general error: the form shows field errors only
/// beside its own text fields.
fn file_refusal(e: ServiceError) -> AppError {
    match AppError::from(e) {
        AppError::Invalid(errors) => AppError::BadRequest(
            errors
                .0
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => other,
    }
}
