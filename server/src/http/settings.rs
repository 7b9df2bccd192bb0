//! The settings page's forms (plain ones, so they work without JavaScript), each
//! sending the browser back to `/settings` saying how it went (a refusal sealed for the
//! person who posted it: see [`super::forms`]):
//! - `POST /settings/email` sets or, when empty, removes the signed-in person's e-mail
//!   address;
//! - `POST /settings/delegation` hands their decisions to another until the end of a
//!   day (UTC), and `POST /settings/delegation/revoke` ends one of theirs now.

use app::api::{
    DELEGATED, DELEGATION_ERROR, DELEGATION_SEAL, SETTINGS_ERROR, SETTINGS_SAVED, SETTINGS_SEAL,
};
use app::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use backend::kernel::clock::now_ms;
use backend::kernel::email::Email;
use backend::{services::accounts, services::delegation, ServiceError};
use serde::Deserialize;

use super::forms::{back, FormPage, PlainForm, Posted, SignedIn};

/// The e-mail form on the settings page.
pub struct EmailSettings;

impl FormPage for EmailSettings {
    const PATH: &'static str = "/settings";
    const REFUSED: (&'static str, &'static str) = (SETTINGS_ERROR, SETTINGS_SEAL);
}

/// The out-of-office forms on the settings page.
pub struct DelegationSettings;

impl FormPage for DelegationSettings {
    const PATH: &'static str = "/settings";
    const REFUSED: (&'static str, &'static str) = (DELEGATION_ERROR, DELEGATION_SEAL);
}

#[derive(Deserialize)]
pub struct EmailPost {
    #[serde(default)]
    email: String,
}

impl PlainForm for EmailPost {
    type Page = EmailSettings;
}

#[derive(Deserialize)]
pub struct DelegationPost {
    #[serde(default)]
    delegate: String,
    #[serde(default)]
    until: String,
}

impl PlainForm for DelegationPost {
    type Page = DelegationSettings;
}

#[derive(Deserialize)]
pub struct RevokePost {
    id: i64,
}

impl PlainForm for RevokePost {
    type Page = DelegationSettings;
}

/// What to tell the person about a refusal, in the app's own words: their mistake as
/// the rules word it, but never with what was typed in it (a name that is no account,
/// or a colleague's); anything else as ours.
fn refusal(e: ServiceError, what: &str) -> String {
    match e {
        ServiceError::Invalid(errors) => errors
            .0
            .iter()
            .map(|e| match e.field.as_str() {
                // The rules name the account given ("There is no account \"x\"", "bob is
                // a requester", which the CLI shows as they are): here, ours.
                "delegate" if e.message != delegation::NOT_YOURSELF => {
                    "Choose a manager or director who has an account here."
                }
                _ => e.message.as_str(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        ServiceError::Forbidden(why) => why,
        other => {
            other.log(what);
            "Nothing was saved: something went wrong on our side; try again.".to_owned()
        }
    }
}

pub async fn set_email(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn<EmailSettings>,
    headers: HeaderMap,
    Posted(posted): Posted<EmailPost>,
) -> Response {
    let email = match posted.email.trim() {
        "" => Ok(None),
        given => Email::parse(given).map(Some),
    };
    let refused = match email {
        Ok(email) => match accounts::set_email(&state.db, &user.name, email.as_ref()).await {
            Ok(()) => {
                return back::<EmailSettings>(&state, &headers, &[(SETTINGS_SAVED, "1")], None)
            }
            Err(e) => {
                e.log("saving an e-mail address");
                "Nothing was saved: something went wrong on our side; try again.".to_owned()
            }
        },
        // `Email::parse` says what is wrong in its own words, without the address.
        Err(message) => message,
    };
    back::<EmailSettings>(&state, &headers, &[], Some(&refused))
}

pub async fn delegate(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn<DelegationSettings>,
    headers: HeaderMap,
    Posted(posted): Posted<DelegationPost>,
) -> Response {
    let refused = |words: &str| back::<DelegationSettings>(&state, &headers, &[], Some(words));
    // A day, as the date field sends it: the delegation runs to its end.
    let Some(ends_at) = chrono::NaiveDate::parse_from_str(posted.until.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|day| day.succ_opt())
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|end| end.and_utc().timestamp_millis())
    else {
        return refused("Give the last day of the delegation as a date (YYYY-MM-DD).");
    };
    let now = now_ms();
    match delegation::add(&state.db, &user, &posted.delegate, now, ends_at, now).await {
        Ok(_) => back::<DelegationSettings>(&state, &headers, &[(DELEGATED, "1")], None),
        Err(e) => refused(&refusal(e, "adding a delegation")),
    }
}

pub async fn revoke_delegation(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn<DelegationSettings>,
    headers: HeaderMap,
    Posted(posted): Posted<RevokePost>,
) -> Response {
    let refused = |words: &str| back::<DelegationSettings>(&state, &headers, &[], Some(words));
    match delegation::revoke(&state.db, posted.id, Some(&user.name), now_ms()).await {
        Ok(true) => back::<DelegationSettings>(&state, &headers, &[(DELEGATED, "1")], None),
        Ok(false) => refused("That delegation has ended already, or is not yours."),
        Err(e) => refused(&refusal(e, "ending a delegation")),
    }
}
