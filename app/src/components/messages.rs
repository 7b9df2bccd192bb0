//! What a page says while it waits and when something failed, worded and marked up the
//! same way everywhere.

use leptos::prelude::*;

/// The fallback of a list or page still loading. A component without props, so it can
/// be handed to a `Transition` as it is (`fallback=Loading`).
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

/// A failure, announced to screen readers as it appears.
#[component]
pub fn ErrorAlert(message: String) -> impl IntoView {
    view! { <p role="alert" class="error">{message}</p> }
}
