//! `/settings`: the signed-in person's account, and the e-mail address notifications
//! about orders go to (when the server sends e-mail: `backend::notify`). A plain form, no island: it posts to `/settings/email`
//! (server/src/http/settings.rs), which sends the browser back here saying how it went.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{account_settings, SETTINGS_ERROR, SETTINGS_SAVED, SETTINGS_SEAL};
use crate::components::{ErrorAlert, RequireUser};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let (saved, refused, seal) = use_query_map().with_untracked(|q| {
        (
            q.get(SETTINGS_SAVED).is_some(),
            q.get(SETTINGS_ERROR).unwrap_or_default(),
            q.get(SETTINGS_SEAL).unwrap_or_default(),
        )
    });
    let current = Resource::new(
        || (),
        move |_| account_settings(refused.clone(), seal.clone()),
    );
    view! {
        <RequireUser render=move |user| view! {
            <h1>"Settings"</h1>
            <p>"Signed in as " <strong>{user.name.clone()}</strong> " (" {user.role.as_str()} ")."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(s) => view! { <EmailForm email=s.email refused=s.refused saved/> }.into_any(),
                        Err(e) => view! { <ErrorAlert message=e.to_string()/> }.into_any(),
                    }
                })}
            </Suspense>
        }/>
    }
}

#[component]
fn EmailForm(email: Option<String>, refused: Option<String>, saved: bool) -> impl IntoView {
    let said = match (&refused, saved, &email) {
        (Some(_), _, _) | (None, false, _) => None,
        (None, true, Some(address)) => Some(format!("Saved. Your e-mail address is {address}.")),
        (None, true, None) => Some("Saved. You have no e-mail address now.".into()),
    };
    view! {
        {said.map(|message| view! {
            <div class="notices"><p class="notice ok" role="status">{message}</p></div>
        })}
        <form method="post" action="/settings/email" class="stack narrow">
            <label for="email">"E-mail address"</label>
            <input
                id="email"
                name="email"
                type="email"
                autocomplete="email"
                maxlength="254"
                value=email.unwrap_or_default()
                aria-invalid=refused.is_some().then_some("true")
                aria-describedby="email-help"
            />
            {refused.map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <p id="email-help" class="muted">
                "E-mail about orders (ones waiting for your decision, and the outcomes of "
                "your own) goes here when the server sends notifications. Leave it empty "
                "for none."
            </p>
            <button type="submit" class="primary">"Save"</button>
        </form>
    }
}
