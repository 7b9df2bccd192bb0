//! Forms that post to a server function. Each is a plain HTML form whose `action` is the
//! function's URL, so it works before the page is live and without JavaScript (the
//! server answers a failed post by sending the browser back with the error). Once the
//! page is live, [`submit_through`] sends the submit through the page's `ServerAction`
//! instead, which shows progress and errors in place and keeps what was typed.
//!
//! Leptos' `ActionForm` does this generically by decoding the form into the function's
//! arguments with `serde_qs`; reading the few fields by name costs about 13 KiB less WASM.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{FormData, HtmlFormElement};

/// The `on:submit` handler of a form posting to `action`'s server function. `args`
/// reads the arguments from the submit; when it cannot, the browser's own post goes
/// ahead and the server explains what is missing.
pub fn submit_through<S>(
    action: ServerAction<S>,
    args: impl Fn(&SubmitEvent) -> Option<S> + 'static,
) -> impl Fn(SubmitEvent) + 'static
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    move |ev: SubmitEvent| {
        if let Some(input) = args(&ev) {
            ev.prevent_default();
            action.dispatch(input);
        }
    }
}

/// One text field of the submitted form (empty when absent, as a posted form has it).
pub fn field(ev: &SubmitEvent, name: &str) -> String {
    ev.target()
        .and_then(|target| target.dyn_into::<HtmlFormElement>().ok())
        .and_then(|form| FormData::new_with_form(&form).ok())
        .and_then(|data| data.get(name).as_string())
        .unwrap_or_default()
}

/// The `value` of the button that submitted the form.
pub fn submitter_value(ev: &SubmitEvent) -> Option<String> {
    ev.submitter()?.get_attribute("value")
}
