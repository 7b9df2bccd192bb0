//! `/login`: sign in with a username and password.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::api::{demo_accounts, Login};
use crate::components::clock::provide_hydrated;
use crate::components::form::submit_through;
use crate::components::ErrorAlert;
use domain::demo;

#[component]
pub fn LoginPage() -> impl IntoView {
    let demo = Resource::new(|| (), |_| demo_accounts());
    // A refused sign-in the browser posted itself comes back with the username.
    let username = use_query_map().with_untracked(|q| q.get("username").unwrap_or_default());
    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    demo.await.ok().filter(|d| *d).map(|_| view! { <DemoHint/> })
                })}
            </Transition>
            <LoginForm username/>
        </section>
    }
}

/// The demo accounts, named from the same constants that create them. Each name is the
/// only child of its element, so the HTML is the same as with the words written in.
#[component]
fn DemoHint() -> impl IntoView {
    let [first_manager, second_manager] = demo::MANAGERS;
    view! {
        <p class="hint">
            "Demo mode: sign in as " <strong>{demo::REQUESTER}</strong> " (requester), "
            <strong>{first_manager}</strong> " or " <strong>{second_manager}</strong>
            " (managers), " <strong>{demo::DIRECTOR}</strong> " (director), all with the password "
            <code>{demo::PASSWORD}</code> "."
        </p>
    }
}

/// An island, so that a refused sign-in keeps the username and the button shows progress.
#[island]
fn LoginForm(username: String) -> impl IntoView {
    // Marks the form once submits stay on the page (tests wait for it).
    let live = provide_hydrated();
    let login = ServerAction::<Login>::new();
    let on_submit = submit_through(login, |form| {
        Some(Login {
            username: form.field("username"),
            password: form.field("password"),
        })
    });
    let error = move || {
        login
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <form method="post" action=Login::url() class="stack"
            data-live=move || live.get().then_some("") on:submit=on_submit>
            <label for="username">"Username"</label>
            <input id="username" name="username" value=username autocomplete="username" required/>
            <label for="password">"Password"</label>
            <input id="password" name="password" type="password"
                autocomplete="current-password" required/>
            {move || error().map(|message| view! { <ErrorAlert message/> })}
            <button type="submit" class="primary" disabled=move || login.pending().get()>
                {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
            </button>
        </form>
    }
}
