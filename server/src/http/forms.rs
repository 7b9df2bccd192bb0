//! The plain HTML forms' posts (the inbox's bulk decision, the settings page): who posts
//! them ([`SignedIn`]), what they post ([`Posted`]), and the way back to the form's page
//! ([`back`]). A browser shows whatever a form post answers, so every answer is a 303:
//! not signed in, to the sign-in page; anything else, to the form's page, carrying the
//! app's own words when it failed, sealed for the person who posted
//! (`app::api::notice`) so the page shows them to that person only. Never a JSON
//! body, never a 500.

use std::marker::PhantomData;

use app::api::notice;
use app::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::Form;
use axum_extra::extract::FormRejection;
use backend::model::people::User;
use backend::ServiceError;
use serde::de::DeserializeOwned;

/// What a form that could not be read comes back with.
pub const UNREADABLE: &str = "The form could not be read, so nothing was changed; try again.";
/// What a form comes back with when we failed before its own work began.
pub const OUR_SIDE: &str = "Nothing was changed: something went wrong on our side; try again.";

/// A page with a plain form: where the form's post goes back to, and the query names
/// its refusal and the refusal's seal ride under.
pub trait FormPage: Send + Sync + 'static {
    const PATH: &'static str;
    const REFUSED: (&'static str, &'static str);
}

/// What a plain form posts (`application/x-www-form-urlencoded`, repeated keys as a
/// `Vec`), and the page it is on.
pub trait PlainForm: DeserializeOwned + Send {
    type Page: FormPage;
}

/// 303 to `P`'s page with `query`, and `refused` (the app's own words) sealed for
/// whoever sent `headers`.
pub fn back<P: FormPage>(
    state: &AppState,
    headers: &HeaderMap,
    query: &[(&str, &str)],
    refused: Option<&str>,
) -> Response {
    back_to(state, headers, P::PATH, P::REFUSED, query, refused)
}

/// [`back`] to a page whose path is known only at run time (an order's), its refusal
/// under the query names `refused_names`.
pub fn back_to(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    refused_names: (&'static str, &'static str),
    query: &[(&str, &str)],
    refused: Option<&str>,
) -> Response {
    let mut target = form_urlencoded::Serializer::new(String::new());
    target.extend_pairs(query);
    if let Some(refused) = refused {
        target.extend_pairs(notice::sealed_message(
            &state.site,
            headers,
            refused_names,
            refused,
        ));
    }
    let target = target.finish();
    if target.is_empty() {
        super::see_other(path.to_owned())
    } else {
        super::see_other(format!("{path}?{target}"))
    }
}

/// The person the session cookie says is signed in, for a form on page `P`. Who that is
/// is `Site::user`'s to say, as for the pages and their server functions.
pub struct SignedIn<P>(pub User, pub PhantomData<P>);

impl<P: FormPage> FromRequestParts<AppState> for SignedIn<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match state.site.user(&state.db, &parts.headers).await {
            Ok(Some(user)) => Ok(Self(user, PhantomData)),
            Ok(None) => Err(super::see_other("/login".into())),
            Err(e) => {
                e.log("the session of a form post");
                Err(back::<P>(state, &parts.headers, &[], Some(OUR_SIDE)))
            }
        }
    }
}

/// A plain form's fields, read by `axum_extra`'s `Form` (which takes repeated keys); a
/// body it cannot read sends the browser back to the form's page saying so.
pub struct Posted<T>(pub T);

impl<T: PlainForm> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let headers = request.headers().clone();
        match Form::<T>::from_request(request, state).await {
            Ok(Form(form)) => Ok(Self(form)),
            Err(rejection) => {
                tracing::debug!(%rejection, page = T::Page::PATH, "a form post could not be read");
                Err(back::<T::Page>(state, &headers, &[], Some(UNREADABLE)))
            }
        }
    }
}

/// A plain form on an order's page (`/orders/{instance_id}`): what its answer comes
/// back with (`done` when it worked; a refusal and its seal otherwise) and what it is
/// called in the log.
pub struct OrderForm {
    pub done: &'static str,
    pub refused: (&'static str, &'static str),
    pub what: &'static str,
}

impl OrderForm {
    /// Runs `work` for the signed-in poster and answers with a 303 back to the order's
    /// page, saying how it went; not signed in, to the sign-in page.
    pub async fn answer<T>(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        instance_id: &str,
        form: Result<Form<T>, FormRejection>,
        work: impl AsyncFnOnce(User, T) -> Result<(), ServiceError>,
    ) -> Response {
        let posted = form
            .map(|Form(posted)| posted)
            .map_err(|_| UNREADABLE.to_owned());
        self.answer_posted(state, headers, instance_id, posted, work)
            .await
    }

    /// [`answer`](Self::answer) for a post read otherwise (a file's multipart body):
    /// `posted` is what it carried, or why it could not be read, in the app's words.
    pub async fn answer_posted<T>(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        instance_id: &str,
        posted: Result<T, String>,
        work: impl AsyncFnOnce(User, T) -> Result<(), ServiceError>,
    ) -> Response {
        let page = format!(
            "/orders/{}",
            form_urlencoded::byte_serialize(instance_id.as_bytes()).collect::<String>()
        );
        let back = |query: &[(&str, &str)], refused: Option<&str>| {
            back_to(state, headers, &page, self.refused, query, refused)
        };
        let user = match state.site.user(&state.db, headers).await {
            Ok(Some(user)) => user,
            Ok(None) => return super::see_other("/login".into()),
            Err(e) => {
                e.log(self.what);
                return back(&[], Some(OUR_SIDE));
            }
        };
        let posted = match posted {
            Ok(posted) => posted,
            Err(why) => return back(&[], Some(&why)),
        };
        match work(user, posted).await {
            Ok(()) => back(&[(self.done, "1")], None),
            Err(e) => back(&[], Some(&refusal(e, self.what))),
        }
    }
}

/// What a plain form tells the person who posted it when its work was refused: their
/// mistake, or the rule, in the app's words; anything else as ours (logged here).
pub fn refusal(e: ServiceError, what: &str) -> String {
    match e {
        ServiceError::Invalid(errors) => errors
            .0
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        ServiceError::Forbidden(why)
        | ServiceError::NotFound(why)
        | ServiceError::TooLarge(why)
        | ServiceError::UnsupportedType(why) => why,
        ServiceError::Conflict { message, .. } => message,
        // The app's own words too (a file store down, daprd busy), logged as ours.
        ServiceError::Unavailable { ref message, .. } => {
            let message = message.clone();
            e.log(what);
            message
        }
        other => {
            other.log(what);
            OUR_SIDE.to_owned()
        }
    }
}
