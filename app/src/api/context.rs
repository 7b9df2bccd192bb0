//! What a server function's body runs with, on the server: the app's state, its
//! request, and the one place where an error becomes the response (its HTTP status, or
//! for a plain form post the redirect back to the form).

use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use backend::model::order::{Decider, OrderQuery};
use backend::model::people::User;
use backend::store::read_model;
use backend::{kernel::clock, ServiceError};
use leptos::prelude::{expect_context, use_context};
use leptos::server_fn::error::ServerFnUrlError;
use leptos_axum::ResponseOptions;

use super::{notice, AppError, OrderPage};
use crate::paging::{MAX_PAGE_NUMBER, PAGE_SIZE};
use crate::state::AppState;

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

    /// Fields a plain form post gets back in the query when it fails, so the page can
    /// show them again and nothing typed is lost. Never a password.
    pub fn keeping(mut self, fields: &[(&'static str, &str)]) -> Self {
        self.kept = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        self
    }

    /// Runs a server function's body. Whatever error it ends with sets the response's
    /// status (or sends a plain form post back to its page) here, once.
    pub async fn run<T>(
        self,
        body: impl AsyncFnOnce(&Ctx) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        match body(&self).await {
            Ok(value) => Ok(value),
            Err(error) => Err(self.fail(error)),
        }
    }

    pub fn response(&self) -> Option<&ResponseOptions> {
        self.response.as_ref()
    }

    fn fail(&self, error: AppError) -> AppError {
        let status = match &error {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooManyAttempts {
                retry_after_secs, ..
            } => {
                if let Some(response) = &self.response {
                    response.insert_header(header::RETRY_AFTER, (*retry_after_secs).into());
                }
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if let (Some(response), Some(parts)) = (&self.response, &self.parts) {
            match self.form_post_origin() {
                Some(back) => {
                    let sealed = |query: &[(String, String)]| {
                        notice::seal(&self.state.site, &parts.headers, &sealed_parts(query))
                    };
                    redirect_with_error(response, &back, &error, &self.kept, sealed)
                }
                None => response.set_status(status),
            }
        }
        error
    }

    /// After a plain form post succeeded, sends the browser back to its page without
    /// the error an earlier attempt may have left in the query.
    pub fn back_to_form(&self) {
        let (Some(response), Some((_, referer))) = (&self.response, self.form_post_origin()) else {
            return;
        };
        let mut back = referer;
        ServerFnUrlError::<AppError>::strip_error_info(&mut back);
        if let Ok(value) = header::HeaderValue::from_str(&back) {
            response.set_status(StatusCode::SEE_OTHER);
            response.insert_header(header::LOCATION, value);
        }
    }

    /// The page a plain HTML form was posted from, when the browser posted it itself
    /// (before the WASM app took over, or without JavaScript). Such a browser shows
    /// whatever body comes back, so it must be sent back to the page instead, carrying
    /// the error for the page to show.
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

    /// The message a page's query carries under `name` with its `seal`, if this server
    /// sealed it for whoever asks now (see [`notice`]).
    pub fn notice(&self, name: &str, text: String, seal: &str) -> Option<String> {
        let parts = self.parts.as_ref()?;
        notice::unsealed(&self.state.site, &parts.headers, name, text, seal)
    }

    pub async fn current_user(&self) -> Result<Option<User>, AppError> {
        let Some(parts) = &self.parts else {
            return Ok(None);
        };
        Ok(self.state.site.user(&self.state.db, &parts.headers).await?)
    }

    pub async fn require_user(&self) -> Result<User, AppError> {
        self.current_user().await?.ok_or(AppError::Unauthorized)
    }

    /// The signed-in user, if they may use the managers' inbox.
    pub async fn require_inbox(&self) -> Result<User, AppError> {
        let user = self.require_user().await?;
        if !backend::rules::policy::can_use_inbox(&user) {
            return Err(AppError::Forbidden(
                "Only managers and directors can see the inbox and decide orders.".into(),
            ));
        }
        Ok(user)
    }

    pub async fn page_of(&self, query: &OrderQuery, offset: i64) -> Result<OrderPage, AppError> {
        let db = &self.state.db;
        let offset = offset.clamp(0, MAX_PAGE_NUMBER * PAGE_SIZE);
        let (rows, total) = tokio::try_join!(
            read_model::list(db, query, PAGE_SIZE, offset),
            read_model::count(db, query)
        )
        .map_err(ServiceError::from)?;
        let orders = rows
            .iter()
            .map(|r| {
                let mut order = r.view();
                order.note = super::note(&order);
                order
            })
            .collect();
        Ok(OrderPage {
            orders,
            total,
            offset,
            server_now_ms: clock::now_ms(),
            waiting: None,
        })
    }

    /// Whom `user`'s inbox is for: themselves, and those whose decisions they hold now.
    pub async fn inbox_deciders(
        &self,
        user: &backend::model::people::User,
    ) -> Result<Vec<Decider>, AppError> {
        let delegators =
            backend::services::delegation::delegators(&self.state.db, &user.name, clock::now_ms())
                .await?;
        Ok(backend::rules::policy::inbox_deciders(user, &delegators))
    }

    /// How many orders wait for these `deciders` (an inbox, unfiltered): a count read
    /// off an index.
    pub async fn waiting_for(&self, deciders: Vec<Decider>) -> Result<i64, AppError> {
        let query = OrderQuery {
            status: Some(domain::OrderStatus::AwaitingApproval),
            deciders,
            ..Default::default()
        };
        Ok(read_model::count(&self.state.db, &query)
            .await
            .map_err(ServiceError::from)?)
    }
}

/// The query parameter that seals `__path` and `__err` (for the person who posted, for
/// ten minutes: [`notice`]): the server turns away a page request whose error it did
/// not write itself for whoever asks (see `server::http::error_seal`).
pub const ERROR_SEAL: &str = "__seal";

/// What the seal covers: the failed function's path and its error, as in the query.
fn sealed_parts(query: &[(String, String)]) -> [&str; 3] {
    let value = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    [ERROR_SEAL, value("__path"), value("__err")]
}

/// Whether the error a page's query carries was written by this server, for whoever
/// sent `headers`, in the last ten minutes.
pub fn error_is_sealed(
    site: &backend::services::session::Site,
    headers: &axum::http::HeaderMap,
    query: &[(String, String)],
) -> bool {
    let seal = query
        .iter()
        .find(|(n, _)| n == ERROR_SEAL)
        .map_or("", |(_, v)| v.as_str());
    notice::opens(site, headers, &sealed_parts(query), seal)
}

/// 303 back to the form's page with `__path`/`__err` in the query: Leptos hands that
/// error to the page's `ServerAction` as its value, so the page renders it as if the
/// call had been made from the browser. `kept` fields go along to fill the form in.
fn redirect_with_error(
    response: &ResponseOptions,
    back: &(String, String),
    error: &AppError,
    kept: &[(&'static str, String)],
    seal: impl FnOnce(&[(String, String)]) -> String,
) {
    let (path, referer) = back;
    match error_url(path, referer, error, kept, seal)
        .and_then(|url| header::HeaderValue::from_str(&url).ok())
    {
        Some(value) => {
            response.set_status(StatusCode::SEE_OTHER);
            response.insert_header(header::LOCATION, value);
        }
        None => response.set_status(StatusCode::BAD_REQUEST),
    }
}

/// The page at `page` (an absolute URL) carrying server function `path`'s `error` as
/// [`redirect_with_error`] sends a form post back with it, sealed for whoever sent
/// `headers`: for a form the browser posted somewhere else than to the function (the
/// order form with files, `server::http::order_form`), so its page shows the error as
/// the function's.
pub fn refused_page(
    site: &backend::services::session::Site,
    headers: &axum::http::HeaderMap,
    page: &str,
    path: &str,
    error: &AppError,
    kept: &[(&'static str, String)],
) -> Option<String> {
    error_url(path, page, error, kept, |query| {
        notice::seal(site, headers, &sealed_parts(query))
    })
}

fn error_url(
    path: &str,
    referer: &str,
    error: &AppError,
    kept: &[(&'static str, String)],
    seal: impl FnOnce(&[(String, String)]) -> String,
) -> Option<String> {
    // Drop the error of an earlier attempt so the query never piles up.
    let mut base = referer.to_owned();
    ServerFnUrlError::<AppError>::strip_error_info(&mut base);
    let mut url = ServerFnUrlError::new(path, error.clone())
        .to_url(&base)
        .ok()?;
    // Fields kept from an earlier attempt, and an earlier seal, are replaced, not
    // repeated.
    let others: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| name != ERROR_SEAL && !kept.iter().any(|(k, _)| k == name))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let sealed = seal(&others);
    url.query_pairs_mut()
        .clear()
        .extend_pairs(&others)
        .extend_pairs(kept.iter().map(|(k, v)| (*k, v.as_str())))
        .append_pair(ERROR_SEAL, &sealed);
    Some(url.into())
}

/// The service's errors as the pages see them; ours (5xx) are logged here, once.
impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        e.log("server function");
        match e {
            ServiceError::Invalid(errors) => Self::Invalid(errors),
            ServiceError::NotFound(m) => Self::NotFound(m),
            ServiceError::Forbidden(m) => Self::Forbidden(m),
            ServiceError::TooLarge(m) | ServiceError::UnsupportedType(m) => Self::BadRequest(m),
            ServiceError::Conflict {
                message,
                decided_by,
                ..
            } => Self::Conflict {
                message,
                decided_by,
            },
            ServiceError::Unavailable { message, .. } => Self::Unavailable(message),
            e if e.is_busy() => Self::Unavailable(backend::kernel::error::DATABASE_BUSY.to_owned()),
            e @ ServiceError::TooManyAttempts { retry_after } => Self::TooManyAttempts {
                message: e.to_string(),
                retry_after_secs: retry_after.as_secs().max(1),
            },
            ServiceError::Database(_) | ServiceError::Engine { .. } | ServiceError::Internal(_) => {
                Self::Internal
            }
        }
    }
}
