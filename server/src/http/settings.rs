//! The settings page's forms (plain ones, so they work without JavaScript), each
//! sending the browser back to `/settings` saying how it went:
//! - `POST /settings/email` sets or, when empty, removes the signed-in person's e-mail
//!   address;
//! - `POST /settings/delegation` hands their decisions to another until the end of a
//!   day (UTC), and `POST /settings/delegation/revoke` ends one of theirs now.

use app::api::{
    DELEGATED, DELEGATION_ERROR, DELEGATION_SEAL, SETTINGS_ERROR, SETTINGS_SAVED, SETTINGS_SEAL,
};
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use backend::kernel::clock::now_ms;
use backend::kernel::email::Email;
use backend::model::people::User;
use backend::{kernel::seal, services::accounts, services::delegation, ServiceError};

/// The signed-in person, or where to send the browser instead.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<User, Response> {
    match state.site.user(&state.db, headers).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(super::see_other("/login".into())),
        Err(e) => Err(super::error::ApiError::from(e).into_response()),
    }
}

fn field(body: &[u8], name: &str) -> String {
    form_urlencoded::parse(body)
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Back to the settings page with `refused` (sealed, so only this server's words show).
fn refused_back(refused: &str, error: &str, seal_key: &str) -> Response {
    let mut back = form_urlencoded::Serializer::new(String::new());
    back.append_pair(error, refused);
    back.append_pair(seal_key, &seal::seal(&[refused]));
    super::see_other(format!("/settings?{}", back.finish()))
}

/// What to tell the person about a refusal: their mistake in its own words, anything
/// else as ours.
fn refusal(e: ServiceError, what: &str) -> String {
    match e {
        ServiceError::Invalid(errors) => errors
            .0
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        ServiceError::Forbidden(why) => why,
        other => {
            other.log(what);
            "Nothing was saved: something went wrong on our side; try again.".to_owned()
        }
    }
}

pub async fn set_email(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let user = match signed_in(&state, &headers).await {
        Ok(user) => user,
        Err(elsewhere) => return elsewhere,
    };
    let raw = field(&body, "email");
    let email = match raw.trim() {
        "" => Ok(None),
        given => Email::parse(given).map(Some),
    };
    let refused = match email {
        Ok(email) => match accounts::set_email(&state.db, &user.name, email.as_ref()).await {
            Ok(()) => return super::see_other(format!("/settings?{SETTINGS_SAVED}=1")),
            Err(e) => {
                e.log("saving an e-mail address");
                "Nothing was saved: something went wrong on our side; try again.".to_owned()
            }
        },
        Err(message) => message,
    };
    refused_back(&refused, SETTINGS_ERROR, SETTINGS_SEAL)
}

pub async fn delegate(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let user = match signed_in(&state, &headers).await {
        Ok(user) => user,
        Err(elsewhere) => return elsewhere,
    };
    let until = field(&body, "until");
    // A day, as the date field sends it: the delegation runs to its end.
    let Some(ends_at) = chrono::NaiveDate::parse_from_str(until.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|day| day.succ_opt())
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .map(|end| end.and_utc().timestamp_millis())
    else {
        return refused_back(
            "Give the last day of the delegation as a date (YYYY-MM-DD).",
            DELEGATION_ERROR,
            DELEGATION_SEAL,
        );
    };
    let now = now_ms();
    match delegation::add(
        &state.db,
        &user,
        &field(&body, "delegate"),
        now,
        ends_at,
        now,
    )
    .await
    {
        Ok(_) => super::see_other(format!("/settings?{DELEGATED}=1")),
        Err(e) => refused_back(
            &refusal(e, "adding a delegation"),
            DELEGATION_ERROR,
            DELEGATION_SEAL,
        ),
    }
}

pub async fn revoke_delegation(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match signed_in(&state, &headers).await {
        Ok(user) => user,
        Err(elsewhere) => return elsewhere,
    };
    let Ok(id) = field(&body, "id").trim().parse::<i64>() else {
        return refused_back("No such delegation.", DELEGATION_ERROR, DELEGATION_SEAL);
    };
    match delegation::revoke(&state.db, id, Some(&user.name), now_ms()).await {
        Ok(true) => super::see_other(format!("/settings?{DELEGATED}=1")),
        Ok(false) => refused_back(
            "That delegation has ended already, or is not yours.",
            DELEGATION_ERROR,
            DELEGATION_SEAL,
        ),
        Err(e) => refused_back(
            &refusal(e, "ending a delegation"),
            DELEGATION_ERROR,
            DELEGATION_SEAL,
        ),
    }
}
