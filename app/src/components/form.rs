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
/// reads the arguments from what was submitted; when it cannot, the browser's own post
/// goes ahead and the server explains what is missing.
pub fn submit_through<S>(
    action: ServerAction<S>,
    args: impl Fn(&Submitted) -> Option<S> + 'static,
) -> impl Fn(SubmitEvent) + 'static
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    move |ev: SubmitEvent| {
        if let Some(input) = args(&Submitted::read(&ev)) {
            ev.prevent_default();
            action.dispatch(input);
        }
    }
}

/// What a submit posts, read once per submit: the form's fields and the button pressed.
pub struct Submitted {
    fields: Option<FormData>,
    submitter: Option<String>,
}

impl Submitted {
    fn read(ev: &SubmitEvent) -> Self {
        Self {
            fields: ev
                .target()
                .and_then(|target| target.dyn_into::<HtmlFormElement>().ok())
                .and_then(|form| FormData::new_with_form(&form).ok()),
            submitter: ev.submitter().and_then(|b| b.get_attribute("value")),
        }
    }

    /// One text field (empty when absent, as a posted form has it).
    pub fn field(&self, name: &str) -> String {
        self.fields
            .as_ref()
            .and_then(|data| data.get(name).as_string())
            .unwrap_or_default()
    }

    /// Whether a file was chosen in the file input `name`: such a form is the browser's
    /// to post, as `multipart/form-data` (a server function takes no files).
    pub fn has_file(&self, name: &str) -> bool {
        #[cfg(feature = "hydrate")]
        {
            self.fields.as_ref().is_some_and(|data| {
                js_sys::Reflect::get(&data.get(name), &"size".into())
                    .ok()
                    .and_then(|size| size.as_f64())
                    .is_some_and(|size| size > 0.0)
            })
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = name;
            false
        }
    }

    /// The `value` of the button that submitted the form.
    pub fn submitter_value(&self) -> Option<&str> {
        self.submitter.as_deref()
    }
}
