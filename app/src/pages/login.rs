//! `/login`: sign in with a username and password.

use leptos::prelude::*;

use crate::api::{demo_accounts, Login};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let demo = Resource::new(|| (), |_| demo_accounts());
    let error = move || {
        login
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    demo.await.ok().filter(|d| *d).map(|_| view! {
                        <p class="hint">
                            "Demo mode: sign in as " <strong>"alice"</strong> " (requester), "
                            <strong>"bob"</strong> " or " <strong>"carol"</strong>
                            " (managers), all with the password " <code>"approvals-demo"</code> "."
                        </p>
                    })
                })}
            </Transition>
            <ActionForm action=login attr:class="stack">
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password"
                    autocomplete="current-password" required/>
                {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </section>
    }
}
