//! `/settings`: the signed-in person's account, the e-mail address notifications about
//! orders go to (when the server sends e-mail: `backend::notify`), and for those who
//! decide orders, handing their decisions to another while away. Plain forms, no
//! island: they post to `/settings/…` (server/src/http/settings.rs), which sends the
//! browser back here saying how it went.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{
    account_settings, DELEGATED, DELEGATION_ERROR, DELEGATION_SEAL, SETTINGS_ERROR, SETTINGS_SAVED,
    SETTINGS_SEAL,
};
use crate::components::{ErrorAlert, RequireUser};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let (saved, delegated, refused, seal, delegation_refused, delegation_seal) = use_query_map()
        .with_untracked(|q| {
            (
                q.get(SETTINGS_SAVED).is_some(),
                q.get(DELEGATED).is_some(),
                q.get(SETTINGS_ERROR).unwrap_or_default(),
                q.get(SETTINGS_SEAL).unwrap_or_default(),
                q.get(DELEGATION_ERROR).unwrap_or_default(),
                q.get(DELEGATION_SEAL).unwrap_or_default(),
            )
        });
    let current = Resource::new(
        || (),
        move |_| {
            account_settings(
                refused.clone(),
                seal.clone(),
                delegation_refused.clone(),
                delegation_seal.clone(),
            )
        },
    );
    view! {
        <RequireUser render=move |user| {
            let decides = user.decides_orders();
            view! {
                <h1>"Settings"</h1>
                <p>"Signed in as " <strong>{user.name.clone()}</strong> " (" {user.role.as_str()} ")."</p>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match current.await {
                            Ok(s) => view! {
                                <EmailForm email=s.email refused=s.refused saved/>
                                {if decides {
                                    view! {
                                        <OutOfOffice delegated_to=s.delegated holding=s.holding
                                            refused=s.delegation_refused saved=delegated/>
                                    }.into_any()
                                } else {
                                    // A refused delegation still says why, form or none.
                                    s.delegation_refused
                                        .map(|message| view! { <ErrorAlert message/> })
                                        .into_any()
                                }}
                            }.into_any(),
                            Err(e) => view! { <ErrorAlert message=e.to_string()/> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        }/>
    }
}

/// Handing one's decisions to another while away (posts to `/settings/delegation`).
#[component]
fn OutOfOffice(
    delegated_to: Vec<(i64, String)>,
    holding: Vec<String>,
    refused: Option<String>,
    saved: bool,
) -> impl IntoView {
    view! {
        <h2>"Out of office"</h2>
        {(saved && refused.is_none()).then(|| view! {
            <div class="notices"><p class="notice ok" role="status">"Saved."</p></div>
        })}
        <p class="muted">
            "Hand your decisions to another manager or director while you are away. They "
            "see the orders you could decide in their inbox and decide them for you; the "
            "record says so (\"Approved by carol for dora\"). They cannot hand them on."
        </p>
        <ul class="delegations">
            {delegated_to.into_iter().map(|(id, text)| view! {
                <li>
                    {text} " "
                    <form method="post" action="/settings/delegation/revoke" class="inline">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class="link">"End now"</button>
                    </form>
                </li>
            }).collect_view()}
            {holding.into_iter().map(|text| view! { <li>{text}</li> }).collect_view()}
        </ul>
        <form method="post" action="/settings/delegation" class="stack narrow">
            <label for="delegate">"Delegate to"</label>
            <input id="delegate" name="delegate" autocomplete="off" maxlength="32" required
                aria-invalid=refused.is_some().then_some("true")/>
            <label for="until">"Until the end of (UTC)"</label>
            <input id="until" name="until" type="date" required/>
            {refused.map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <button type="submit" class="primary">"Delegate"</button>
        </form>
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
