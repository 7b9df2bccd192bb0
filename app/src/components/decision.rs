//! Approve / Reject with an optional comment. Shows progress and disables itself while
//! the decision is in flight or once the deadline has passed; a decision that lost a
//! race says who decided first.

use leptos::prelude::*;

use crate::api::{AppError, Decide};

#[component]
pub fn DecisionForm(
    instance_id: String,
    /// True once the countdown reached zero (the timeout outcome is on its way).
    expired: Signal<bool>,
    /// Told about every outcome, so the page can refetch and announce it.
    on_done: Callback<Result<String, AppError>>,
) -> impl IntoView {
    let decide = ServerAction::<Decide>::new();
    let pressed = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        if let Some(result) = decide.value().get() {
            on_done.run(result.map(|r| r.message));
        }
    });
    let busy = move || decide.pending().get();
    let label = move |approve: bool| {
        move || match (busy() && pressed.get() == Some(approve), approve) {
            (true, true) => "Approving…",
            (true, false) => "Rejecting…",
            (false, true) => "Approve",
            (false, false) => "Reject",
        }
    };
    let comment_id = format!("comment-{instance_id}");
    view! {
        <ActionForm action=decide attr:class="decide">
            <input type="hidden" name="instance_id" value=instance_id/>
            <label class="sr-only" for=comment_id.clone()>"Comment"</label>
            <input id=comment_id name="comment" placeholder="Comment (optional)" maxlength="500"
                disabled=move || expired.get()/>
            <button type="submit" name="approve" value="true" class="approve"
                aria-busy=move || (busy() && pressed.get() == Some(true)).to_string()
                on:click=move |_| pressed.set(Some(true))
                disabled=move || busy() || expired.get()>{label(true)}</button>
            <button type="submit" name="approve" value="false" class="reject"
                aria-busy=move || (busy() && pressed.get() == Some(false)).to_string()
                on:click=move |_| pressed.set(Some(false))
                disabled=move || busy() || expired.get()>{label(false)}</button>
        </ActionForm>
    }
}
