//! Server functions: the pages call these; their bodies run on the server and reach the
//! read model and Dapr directly (never HTTP to ourselves). Errors are typed and carry
//! the HTTP status they deserve.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::domain::{OrderView, UserView, ValidationErrors};

pub const MAX_PAGE: i64 = 200;
pub const PAGE_SIZE: i64 = 25;

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
        Self::Transport(value.to_string())
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub label: String,
    #[serde(deserialize_with = "crate::domain::rfc3339::de")]
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub order: OrderView,
    pub timeline: Vec<TimelineEntry>,
    pub server_now_ms: i64,
    /// Whether the viewer may decide this order (a manager, not its requester).
    pub can_decide: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionResult {
    pub message: String,
    pub confirmed: bool,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use crate::backend::accounts::User;
    use crate::backend::{AppState, ServiceError};
    use axum::http::request::Parts;
    use axum::http::{header, StatusCode};
    use leptos::prelude::{expect_context, use_context};
    use leptos::server_fn::error::ServerFnUrlError;
    use leptos_axum::ResponseOptions;

    /// What a server function needs from its request, taken before its first `.await`:
    /// Leptos contexts are not reachable once a server function has yielded.
    pub struct Ctx {
        pub state: AppState,
        pub parts: Option<Parts>,
        response: Option<ResponseOptions>,
        kept: Vec<(&'static str, String)>,
    }

    impl Ctx {
        pub fn new() -> Self {
            Self {
                state: expect_context::<AppState>(),
                parts: use_context::<Parts>(),
                response: use_context::<ResponseOptions>(),
                kept: Vec::new(),
            }
        }

        /// Fields a plain form post gets back in the query when it fails, so the page
        /// can show them again and nothing typed is lost. Never a password.
        pub fn keeping(mut self, fields: &[(&'static str, &str)]) -> Self {
            self.kept = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            self
        }

        pub fn response(&self) -> Option<&ResponseOptions> {
            self.response.as_ref()
        }

        /// Sets the HTTP status of the server function's response to match the error.
        pub fn fail(&self, error: AppError) -> AppError {
            let status = match &error {
                AppError::Unauthorized => StatusCode::UNAUTHORIZED,
                AppError::Forbidden(_) => StatusCode::FORBIDDEN,
                AppError::NotFound(_) => StatusCode::NOT_FOUND,
                AppError::Conflict { .. } => StatusCode::CONFLICT,
                AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if let Some(response) = &self.response {
                match self.form_post_origin() {
                    Some(back) => redirect_with_error(response, &back, &error, &self.kept),
                    None => response.set_status(status),
                }
            }
            error
        }

        /// After a plain form post succeeded, sends the browser back to its page without
        /// the error an earlier attempt may have left in the query.
        pub fn back_to_form(&self) {
            let (Some(response), Some((_, referer))) = (&self.response, self.form_post_origin())
            else {
                return;
            };
            let mut back = referer;
            ServerFnUrlError::<AppError>::strip_error_info(&mut back);
            if let Ok(value) = header::HeaderValue::from_str(&back) {
                response.set_status(StatusCode::SEE_OTHER);
                response.insert_header(header::LOCATION, value);
            }
        }

        /// The page a plain HTML form was posted from, when the browser posted it
        /// itself (before the WASM app took over, or without JavaScript). Such a
        /// browser shows whatever body comes back, so it must be sent back to the page
        /// instead, carrying the error for the page to show.
        fn form_post_origin(&self) -> Option<(String, String)> {
            let parts = self.parts.as_ref()?;
            // Pages rendered on the server share this context with a GET; only a posted
            // form is sent back.
            if parts.method != axum::http::Method::POST {
                return None;
            }
            let accepts_html = parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
            let referer = parts.headers.get(header::REFERER)?.to_str().ok()?;
            // Only ever back to a page of ours: never an open redirect.
            let host = parts.headers.get(header::HOST)?.to_str().ok()?;
            let referer_host = referer.split_once("://")?.1.split('/').next()?;
            (accepts_html && referer_host == host)
                .then(|| (parts.uri.path().to_owned(), referer.to_owned()))
        }

        pub fn service(&self, e: ServiceError) -> AppError {
            self.fail(e.into())
        }

        pub fn db_error(&self, e: sqlx::Error) -> AppError {
            self.service(e.into())
        }

        pub async fn current_user(&self) -> Result<Option<User>, AppError> {
            let Some(parts) = &self.parts else {
                return Ok(None);
            };
            crate::backend::session::user_from_headers(&self.state.db, &parts.headers)
                .await
                .map_err(|e| self.service(e))
        }

        pub async fn require_user(&self) -> Result<User, AppError> {
            self.current_user()
                .await?
                .ok_or_else(|| self.fail(AppError::Unauthorized))
        }

        pub async fn require_manager(&self) -> Result<User, AppError> {
            let user = self.require_user().await?;
            if !user.is_manager() {
                return Err(self.fail(AppError::Forbidden(
                    "Only managers can see the inbox and decide orders.".into(),
                )));
            }
            Ok(user)
        }

        pub async fn page_of(
            &self,
            query: &crate::backend::read_model::OrderQuery,
            offset: i64,
        ) -> Result<super::OrderPage, AppError> {
            use crate::backend::read_model;
            let db = &self.state.db;
            let offset = offset.max(0);
            let (rows, total) = tokio::try_join!(
                read_model::list(db, query, super::PAGE_SIZE, offset),
                read_model::count(db, query)
            )
            .map_err(|e| self.db_error(e))?;
            Ok(super::OrderPage {
                orders: rows.iter().map(|r| r.view()).collect(),
                total,
                offset,
                server_now_ms: now_ms(),
            })
        }
    }

    /// 303 back to the form's page with `__path`/`__err` in the query: Leptos hands that
    /// error to the page's `ServerAction` as its value, so the page renders it as if the
    /// call had been made from the browser. `kept` fields go along to fill the form in.
    fn redirect_with_error(
        response: &ResponseOptions,
        back: &(String, String),
        error: &AppError,
        kept: &[(&'static str, String)],
    ) {
        let (path, referer) = back;
        // Drop the error of an earlier attempt so the query never piles up.
        let mut base = referer.clone();
        ServerFnUrlError::<AppError>::strip_error_info(&mut base);
        let Ok(mut url) = ServerFnUrlError::new(path, error.clone()).to_url(&base) else {
            response.set_status(StatusCode::BAD_REQUEST);
            return;
        };
        if !kept.is_empty() {
            // Fields kept from an earlier attempt are replaced, not repeated.
            let others: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(name, _)| !kept.iter().any(|(k, _)| k == name))
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(others)
                .extend_pairs(kept.iter().map(|(k, v)| (*k, v.as_str())));
        }
        match header::HeaderValue::from_str(url.as_str()) {
            Ok(value) => {
                response.set_status(StatusCode::SEE_OTHER);
                response.insert_header(header::LOCATION, value);
            }
            Err(_) => response.set_status(StatusCode::BAD_REQUEST),
        }
    }

    impl From<ServiceError> for AppError {
        fn from(e: ServiceError) -> Self {
            match e {
                ServiceError::Invalid(errors) => Self::Invalid(errors),
                ServiceError::NotFound(m) => Self::NotFound(m),
                ServiceError::Forbidden(m) => Self::Forbidden(m),
                ServiceError::Conflict {
                    message,
                    decided_by,
                    ..
                } => Self::Conflict {
                    message,
                    decided_by,
                },
                ServiceError::Unavailable(m) => Self::Unavailable(m),
                ServiceError::Internal(_) => Self::Internal,
            }
        }
    }

    pub fn now_ms() -> i64 {
        crate::backend::orders::now_ms()
    }
}

/// Who is signed in, if anyone.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<UserView>, AppError> {
    let ctx = ssr::Ctx::new();
    Ok(ctx.current_user().await?.map(|u| u.view()))
}

/// Whether the demo accounts exist (the sign-in page then says how to use them).
#[server(endpoint = "demo_accounts")]
pub async fn demo_accounts() -> Result<bool, AppError> {
    let ctx = ssr::Ctx::new();
    crate::backend::accounts::demo_users_present(&ctx.state.db)
        .await
        .map_err(|e| ctx.service(e))
}

#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    let ctx = ssr::Ctx::new().keeping(&[("username", &username)]);
    use crate::backend::{accounts, session};
    let state = &ctx.state;
    let user = accounts::authenticate(&state.db, &username, &password)
        .await
        .map_err(|e| ctx.service(e))?
        .ok_or_else(|| {
            ctx.fail(AppError::Invalid(ValidationErrors(vec![
                crate::domain::FieldError {
                    field: "password".into(),
                    message: "That username and password do not match an account.".into(),
                },
            ])))
        })?;
    let token = accounts::create_session(&state.db, &user)
        .await
        .map_err(|e| ctx.service(e))?;
    if let (Some(parts), Some(response)) = (&ctx.parts, ctx.response()) {
        response.insert_header(session::SET_COOKIE_HEADER, session::cookie(parts, &token));
    }
    leptos_axum::redirect(if user.is_manager() { "/" } else { "/orders" });
    Ok(())
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let ctx = ssr::Ctx::new();
    use crate::backend::{accounts, session};
    let Some(parts) = &ctx.parts else {
        return Err(AppError::Internal);
    };
    if let Some(token) = session::session_token(&parts.headers) {
        accounts::end_session(&ctx.state.db, &token)
            .await
            .map_err(|e| ctx.service(e))?;
    }
    if let Some(response) = ctx.response() {
        response.insert_header(session::SET_COOKIE_HEADER, session::cookie(parts, ""));
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// Submits an order from the form; an empty order id gets a generated one.
#[server(endpoint = "submit_order")]
pub async fn submit_order(
    product: String,
    unit_cost: String,
    quantity: String,
    order_id: String,
) -> Result<String, AppError> {
    let ctx = ssr::Ctx::new().keeping(&[
        ("product", &product),
        ("unit_cost", &unit_cost),
        ("quantity", &quantity),
        ("order_id", &order_id),
    ]);
    use crate::domain::parse_form;
    let user = ctx.require_user().await?;
    let order_id = if order_id.trim().is_empty() {
        generated_order_id()
    } else {
        order_id
    };
    let order = parse_form(&order_id, &product, &unit_cost, &quantity)
        .map_err(|e| ctx.fail(AppError::Invalid(e)))?;
    let started = ctx
        .state
        .orders
        .start(order, &user)
        .await
        .map_err(|e| ctx.service(e))?;
    leptos_axum::redirect(&format!("/orders/{}", started.instance_id));
    Ok(started.instance_id)
}

#[cfg(feature = "ssr")]
fn generated_order_id() -> String {
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
    let ctx = ssr::Ctx::new();
    use crate::backend::read_model::{self, from_ms};
    let user = ctx.require_user().await?;
    let row = read_model::get(&ctx.state.db, &instance_id)
        .await
        .map_err(|e| ctx.db_error(e))?
        .ok_or_else(|| ctx.fail(AppError::NotFound(format!("No order {instance_id}."))))?;
    let own = row.requested_by.as_deref() == Some(user.name.as_str());
    if !own && !user.is_manager() {
        // Requesters see only their own orders; say "not found" rather than confirm it.
        return Err(ctx.fail(AppError::NotFound(format!("No order {instance_id}."))));
    }
    let order = row.view();
    let mut timeline = vec![TimelineEntry {
        label: "Submitted".into(),
        at: from_ms(row.created_at),
    }];
    if let Some(at) = row.approval_requested_at {
        timeline.push(TimelineEntry {
            label: "Approval requested".into(),
            at: from_ms(at),
        });
    }
    if let (true, Some(at)) = (order.status.is_final(), row.decided_at) {
        timeline.push(TimelineEntry {
            label: order.status_label(),
            at: from_ms(at),
        });
    }
    if let Some(at) = row.placed_at {
        timeline.push(TimelineEntry {
            label: "Order placed".into(),
            at: from_ms(at),
        });
    }
    Ok(OrderDetail {
        can_decide: user.is_manager() && !own,
        order,
        timeline,
        server_now_ms: ssr::now_ms(),
    })
}

/// The requester's own orders, newest first.
#[server(endpoint = "my_orders")]
pub async fn my_orders(offset: i64) -> Result<OrderPage, AppError> {
    let ctx = ssr::Ctx::new();
    use crate::backend::read_model::OrderQuery;
    let user = ctx.require_user().await?;
    let query = OrderQuery {
        requested_by: Some(user.name),
        ..Default::default()
    };
    ctx.page_of(&query, offset).await
}

/// Orders waiting for a decision, soonest deadline first (managers only).
#[server(endpoint = "inbox")]
pub async fn inbox(text: String, offset: i64) -> Result<OrderPage, AppError> {
    let ctx = ssr::Ctx::new();
    use crate::backend::read_model::OrderQuery;
    use crate::domain::OrderStatus;
    ctx.require_manager().await?;
    let query = OrderQuery {
        status: Some(OrderStatus::AwaitingApproval),
        text: Some(text),
        ..Default::default()
    };
    ctx.page_of(&query, offset).await
}

/// Recent outcomes, most recently decided first (managers only).
#[server(endpoint = "decided")]
pub async fn decided(text: String, offset: i64) -> Result<OrderPage, AppError> {
    let ctx = ssr::Ctx::new();
    use crate::backend::read_model::OrderQuery;
    ctx.require_manager().await?;
    let query = OrderQuery {
        decided_only: true,
        text: Some(text),
        ..Default::default()
    };
    ctx.page_of(&query, offset).await
}

/// Approves or rejects an order as the signed-in manager. Refused with 403 for
/// requesters and for the manager's own orders, 409 when someone else decided first.
#[server(endpoint = "decide")]
pub async fn decide(
    instance_id: String,
    approve: bool,
    comment: Option<String>,
) -> Result<DecisionResult, AppError> {
    let ctx = ssr::Ctx::new();
    let user = ctx.require_user().await?;
    let decided = ctx
        .state
        .orders
        .decide(&instance_id, &user, approve, comment.as_deref())
        .await
        .map_err(|e| ctx.service(e))?;
    ctx.back_to_form();
    Ok(DecisionResult {
        message: decided.message,
        confirmed: decided.confirmed,
    })
}
