//! Server functions: the pages call these; their bodies run on the server and reach the
//! read model and Dapr directly (never HTTP to ourselves). Errors are typed and carry
//! the HTTP status they deserve.

use domain::{OrderDetail, OrderView, UserView, ValidationErrors};
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

pub const MAX_PAGE: i64 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        decided_by: Option<String>,
    },
    #[error("{}", messages(.0))]
    Invalid(ValidationErrors),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    TooManyAttempts {
        message: String,
        retry_after_secs: u64,
    },
    #[error("Something went wrong on our side; please try again.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

fn messages(errors: &ValidationErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server: the request's arguments could not be read. That is the
            // caller's mistake (400), never ours (500).
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                #[cfg(feature = "ssr")]
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(axum::http::StatusCode::BAD_REQUEST);
                }
                Self::BadRequest(format!("The request could not be read: {value}."))
            }
            _ => Self::Transport(value.to_string()),
        }
    }
}

impl AppError {
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid(errors) => errors.for_field(name).map(str::to_owned),
            _ => None,
        }
    }
}

/// A page of orders plus the server's clock, so countdowns can correct for the
/// difference between the viewer's clock and ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    pub total: i64,
    pub offset: i64,
    pub server_now_ms: i64,
    /// In the inbox: how many orders wait for the reader's decision, whatever the
    /// filter or tab, as the Pending tab shows it (`" (12)"`; worded here, so the
    /// browser's code formats nothing).
    pub waiting: Option<String>,
}

/// An order's note in the pages' lists (see `OrderView::note`).
#[cfg(feature = "ssr")]
pub fn note(order: &OrderView) -> String {
    let mut text = order.requested_by.clone().unwrap_or_default();
    if order.question_open {
        text.push_str(" · question open");
    }
    match order.attachments {
        0 => {}
        1 => text.push_str(" · 1 file"),
        n => text.push_str(&format!(" · {n} files")),
    }
    if let Some(holder) = &order.assignee {
        text.push_str(" · held by ");
        text.push_str(holder);
    }
    text
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionResult {
    pub message: String,
    pub confirmed: bool,
}

#[cfg(feature = "ssr")]
mod context;
#[cfg(feature = "ssr")]
pub mod notice;
#[cfg(feature = "ssr")]
pub(crate) use context::Ctx;
#[cfg(feature = "ssr")]
pub use context::{error_is_sealed, refused_page, ERROR_SEAL};

/// Who is signed in, if anyone.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<UserView>, AppError> {
    Ctx::new()
        .run(async |ctx| Ok(ctx.current_user().await?.map(|u| u.view())))
        .await
}

/// Whether the demo accounts exist (the sign-in page then says how to use them).
#[server(endpoint = "demo_accounts")]
pub async fn demo_accounts() -> Result<bool, AppError> {
    Ctx::new()
        .run(async |ctx| Ok(backend::services::accounts::demo_users_present(&ctx.state.db).await?))
        .await
}

#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    use backend::{services::accounts, services::session};
    Ctx::new()
        .keeping(&[("username", &username)])
        .run(async |ctx| {
            let db = &ctx.state.db;
            let client = ctx
                .parts
                .as_ref()
                .and_then(|p| ctx.state.sign_in.client_of(p));
            let user = ctx
                .state
                .sign_in
                .check(db, client, &username, &password, false)
                .await?
                .ok_or_else(|| {
                    AppError::Invalid(ValidationErrors::one(
                        "password",
                        "That username and password do not match an account.",
                    ))
                })?;
            let token = accounts::create_session(db, &user).await?;
            if let Some(response) = ctx.response() {
                response.insert_header(session::SET_COOKIE_HEADER, ctx.state.site.cookie(&token));
            }
            leptos_axum::redirect(if user.decides_orders() {
                "/"
            } else {
                "/orders"
            });
            Ok(())
        })
        .await
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use backend::{services::accounts, services::session};
    Ctx::new()
        .run(async |ctx| {
            let Some(parts) = &ctx.parts else {
                return Err(AppError::Internal);
            };
            if let Some(token) = ctx.state.site.session_token(&parts.headers) {
                accounts::end_session(&ctx.state.db, &token).await?;
            }
            if let Some(response) = ctx.response() {
                response.insert_header(session::SET_COOKIE_HEADER, ctx.state.site.cookie(""));
            }
            leptos_axum::redirect("/login");
            Ok(())
        })
        .await
}

/// Submits an order from the form; an empty order id gets a generated one.
#[server(endpoint = "submit_order")]
pub async fn submit_order(
    product: String,
    unit_cost: String,
    quantity: String,
    order_id: String,
) -> Result<String, AppError> {
    Ctx::new()
        .keeping(&[
            ("product", &product),
            ("unit_cost", &unit_cost),
            ("quantity", &quantity),
            ("order_id", &order_id),
        ])
        .run(async |ctx| {
            let user = ctx.require_user().await?;
            let order_id = if order_id.trim().is_empty() {
                generated_order_id()
            } else {
                order_id.clone()
            };
            let order = domain::parse_form(&order_id, &product, &unit_cost, &quantity)
                .map_err(AppError::Invalid)?;
            let started = ctx.state.orders.start(order, &user).await?;
            leptos_axum::redirect(&format!("/orders/{}", started.instance_id));
            Ok(started.instance_id)
        })
        .await
}

#[cfg(feature = "ssr")]
/// An order id for a form that left it empty: the day and 32 random bits.
pub fn generated_order_id() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 4];
    rand_core::OsRng.fill_bytes(&mut bytes);
    format!(
        "PO-{}-{:08X}",
        chrono::Utc::now().format("%Y%m%d"),
        u32::from_be_bytes(bytes)
    )
}

#[server(endpoint = "get_order")]
pub async fn get_order(instance_id: String) -> Result<OrderDetail, AppError> {
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_user().await?;
            Ok(ctx.state.orders.detail(&user, &instance_id).await?)
        })
        .await
}

/// The requester's own orders, newest first.
#[server(endpoint = "my_orders")]
pub async fn my_orders(offset: i64) -> Result<OrderPage, AppError> {
    use backend::model::order::OrderQuery;
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_user().await?;
            let query = OrderQuery {
                requested_by: Some(user.name),
                ..Default::default()
            };
            ctx.page_of(&query, offset).await
        })
        .await
}

/// Orders waiting for a decision at a level the caller may decide, soonest deadline
/// first unless `sort` names another order (managers and directors only).
#[server(endpoint = "inbox")]
pub async fn inbox(text: String, offset: i64, sort: String) -> Result<OrderPage, AppError> {
    use backend::model::order::{AssignedFilter, OrderQuery};
    use domain::HeldBy;
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_inbox().await?;
            // `held:me` / `held:nobody` in the filter text (the page's links set it).
            let (held, text) = HeldBy::split_from(&text);
            let text = domain::parse_search(&text).map_err(backend::ServiceError::from)?;
            let deciders = ctx.inbox_deciders(&user).await?;
            let query = OrderQuery {
                status: Some(domain::OrderStatus::AwaitingApproval),
                text,
                sort: domain::SortKey::parse(&sort),
                deciders: deciders.clone(),
                assigned: held.map(|held| match held {
                    HeldBy::Me => AssignedFilter::To(user.name.clone()),
                    HeldBy::Nobody => AssignedFilter::Nobody,
                }),
                ..Default::default()
            };
            let mut page = ctx.page_of(&query, offset).await?;
            // The page's total is what waits for the reader, unless a filter narrowed it.
            let unfiltered =
                held.is_none() && query.text.as_deref().is_none_or(|t| t.trim().is_empty());
            let waiting = if unfiltered {
                page.total
            } else {
                ctx.waiting_for(deciders).await?
            };
            page.waiting = Some(waiting_words(waiting));
            Ok(page)
        })
        .await
}

/// How many orders wait for the caller's decision, as the Pending tab shows it
/// (`" (12)"`): the inbox page renders it; its island keeps it current from `inbox` and
/// `decided`, which carry it too.
#[server(endpoint = "inbox_waiting")]
pub async fn inbox_waiting() -> Result<String, AppError> {
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_inbox().await?;
            waiting_for_user(ctx, &user).await
        })
        .await
}

/// How many orders wait for `user`'s decision (theirs, and those of whoever they
/// decide for), in the Pending tab's words.
#[cfg(feature = "ssr")]
async fn waiting_for_user(
    ctx: &Ctx,
    user: &backend::model::people::User,
) -> Result<String, AppError> {
    let deciders = ctx.inbox_deciders(user).await?;
    Ok(waiting_words(ctx.waiting_for(deciders).await?))
}

#[cfg(feature = "ssr")]
fn waiting_words(n: i64) -> String {
    format!(" ({n})")
}

/// Recent outcomes, most recently decided first unless `sort` names another order
/// (managers only).
#[server(endpoint = "decided")]
pub async fn decided(text: String, offset: i64, sort: String) -> Result<OrderPage, AppError> {
    use backend::model::order::OrderQuery;
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_inbox().await?;
            let text = domain::parse_search(&text).map_err(backend::ServiceError::from)?;
            let query = OrderQuery {
                decided_only: true,
                text,
                sort: domain::SortKey::parse(&sort),
                ..Default::default()
            };
            let mut page = ctx.page_of(&query, offset).await?;
            page.waiting = Some(waiting_for_user(ctx, &user).await?);
            Ok(page)
        })
        .await
}

/// The query the order page's assignment form comes back with
/// (server/src/http/assignment.rs): changed, or why not and its seal.
pub const ASSIGNED: &str = "assigned";
pub const ASSIGN_ERROR: &str = "assign_error";
pub const ASSIGN_SEAL: &str = "assign_seal";

/// The query the order page's thread form comes back with (server/src/http/comments.rs).
pub const COMMENTED: &str = "commented";
pub const COMMENT_ERROR: &str = "comment_error";
pub const COMMENT_SEAL: &str = "comment_seal";

/// The query the order page's upload form comes back with
/// (server/src/http/attachments.rs).
pub const ATTACHED: &str = "attached";
pub const ATTACH_ERROR: &str = "attach_error";
pub const ATTACH_SEAL: &str = "attach_seal";

/// The query the settings form's answer comes back with (server/src/http/settings.rs):
/// saved, or why not and its seal (see `api::notice`).
pub const SETTINGS_SAVED: &str = "saved";
pub const SETTINGS_ERROR: &str = "settings_error";
pub const SETTINGS_SEAL: &str = "settings_seal";
/// The same for the out-of-office form (`DELEGATED`: a delegation was added or ended).
pub const DELEGATED: &str = "delegated";
pub const DELEGATION_ERROR: &str = "delegation_error";
pub const DELEGATION_SEAL: &str = "delegation_seal";

/// The signed-in person's settings, as their page shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub email: Option<String>,
    /// Why the last change was refused, when the page came back with one.
    pub refused: Option<String>,
    /// The delegations they gave that have not ended: id, and what it says.
    pub delegated: Vec<(i64, String)>,
    /// Whose decisions they hold, or will.
    pub holding: Vec<String>,
    /// Why the last delegation was refused.
    pub delegation_refused: Option<String>,
}

/// The signed-in person's settings. Refusals are shown only with this server's seal
/// made for the person asking, in the last ten minutes, so a link cannot make the page
/// say anything.
#[server(endpoint = "account_settings")]
pub async fn account_settings(
    refused: String,
    seal: String,
    delegation_refused: String,
    delegation_seal: String,
) -> Result<Settings, AppError> {
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_user().await?;
            let email = backend::services::accounts::email_of(&ctx.state.db, &user.name).await?;
            let refused = ctx.notice(SETTINGS_ERROR, refused, &seal);
            let delegation_refused =
                ctx.notice(DELEGATION_ERROR, delegation_refused, &delegation_seal);
            let now = backend::kernel::clock::now_ms();
            let until = |ms: i64| backend::kernel::clock::from_ms(ms).format("%Y-%m-%d %H:%M UTC");
            let mut delegated = Vec::new();
            let mut holding = Vec::new();
            for d in
                backend::services::delegation::current(&ctx.state.db, Some(&user.name), now).await?
            {
                let from = if d.starts_at > now {
                    format!(" from {}", until(d.starts_at))
                } else {
                    String::new()
                };
                if d.delegator == user.name {
                    let text = format!("To {}{from} until {}", d.delegate, until(d.ends_at));
                    delegated.push((d.id, text));
                } else {
                    holding.push(format!(
                        "You decide for {}{from} until {}",
                        d.delegator,
                        until(d.ends_at)
                    ));
                }
            }
            Ok(Settings {
                email,
                refused,
                delegated,
                holding,
                delegation_refused,
            })
        })
        .await
}

/// The inbox's query after a bulk decision: every selected order (repeated), or what
/// was wrong with the request and its seal (see `api::notice`).
pub const BULK_SELECTED: &str = "bulk";
pub const BULK_ERROR: &str = "bulk_error";
pub const BULK_SEAL: &str = "bulk_seal";

/// What the inbox reports after a bulk decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkSummary {
    pub lines: Vec<domain::BulkLine>,
    /// Why nothing was decided, when the request was refused as a whole.
    pub refused: Option<String>,
}

/// How each order of a bulk decision stands now, for the signed-in manager (read from
/// the read model; an order they may not see reads as no such order). `refused` is
/// shown only with this server's seal made for the person asking (as in
/// [`account_settings`]), so a link cannot make the page say anything.
#[server(endpoint = "bulk_report")]
pub async fn bulk_report(
    instance_ids: Vec<String>,
    refused: String,
    seal: String,
) -> Result<BulkSummary, AppError> {
    use backend::services::orders::bulk::{report_line, MAX_SELECTED};
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_inbox().await?;
            let mut lines = Vec::new();
            for id in instance_ids.iter().take(MAX_SELECTED) {
                let row = match ctx.state.orders.order_for(&user, id).await {
                    Ok(row) => Some(row),
                    Err(backend::ServiceError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                };
                lines.push(report_line(&user, id, row.as_ref()));
            }
            let refused = ctx.notice(BULK_ERROR, refused, &seal);
            Ok(BulkSummary { lines, refused })
        })
        .await
}

/// Approves or rejects an order as the signed-in manager, or cancels it as its
/// requester. Refused with 403 when the policy does not allow it (a requester deciding,
/// a manager deciding their own order, anyone but the requester cancelling), 409 when
/// a decision, a cancellation or the timeout came first.
#[server(endpoint = "decide")]
pub async fn decide(
    instance_id: String,
    decision: domain::Decision,
    comment: Option<String>,
) -> Result<DecisionResult, AppError> {
    Ctx::new()
        .run(async |ctx| {
            let user = ctx.require_user().await?;
            let decided = ctx
                .state
                .orders
                .decide(
                    &instance_id,
                    &user,
                    backend::services::orders::DecisionRequest {
                        decision,
                        comment: comment.as_deref(),
                        approver_name: None,
                        via: backend::model::order::Via::App,
                    },
                )
                .await?;
            ctx.back_to_form();
            Ok(DecisionResult {
                message: decided.message,
                confirmed: decided.confirmed,
            })
        })
        .await
}
