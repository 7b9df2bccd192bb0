//! Approve / Reject (or, for the order's requester, Cancel) with an optional comment.
//! Shows progress and disables itself while a decision is in flight or once the
//! deadline has passed; a decision that lost a race says who decided first.
//!
//! The action and its outcome belong to the page, not to the form: a live update can
//! re-render or remove the form while its request is in flight (the row leaves the
//! inbox as soon as the workflow records the decision), and the answer must still be
//! announced. The form itself creates no reactive nodes for the same reason.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::form::submit_through;
use crate::api::Decide;
use domain::Decision;

/// What the last decision on a page came to: `(succeeded, message)`.
pub type DecisionNotice = Signal<Option<(bool, String)>>;

/// The page's decision action and its notice. Every outcome also bumps `refresh`, so
/// the page refetches what it shows. The notice derives from the action's value, so an
/// error handed back to a page posted without JavaScript shows in its HTML too.
pub fn use_decisions(refresh: WriteSignal<u64>) -> (ServerAction<Decide>, DecisionNotice) {
    let decide = ServerAction::<Decide>::new();
    let notice = Signal::derive(move || {
        decide.value().get().map(|result| match result {
            Ok(r) => (true, r.message),
            Err(e) => (false, e.to_string()),
        })
    });
    Effect::new(move |_| {
        if decide.version().get() > 0 {
            refresh.update(|n| *n += 1);
        }
    });
    (decide, notice)
}

/// The decision in flight on `instance_id`, if any.
fn in_flight(decide: ServerAction<Decide>, instance_id: &str) -> Option<Decision> {
    decide.input().with(|input| {
        input
            .as_ref()
            .filter(|d| d.instance_id == instance_id)
            .map(|d| d.decision)
    })
}

/// The decision a submit button stands for (its `value`).
fn submitted_decision(form: &super::form::Submitted) -> Option<Decision> {
    match form.submitter_value()? {
        "approve" => Some(Decision::Approve),
        "reject" => Some(Decision::Reject),
        "cancel" => Some(Decision::Cancel),
        _ => None,
    }
}

#[component]
pub fn DecisionForm(
    instance_id: String,
    decide: ServerAction<Decide>,
    /// When the approval window closes (the timeout outcome is on its way after it).
    deadline_ms: Option<i64>,
    now: Signal<i64>,
    /// The order's requester sees the form that cancels it, managers the one that
    /// approves or rejects it.
    #[prop(optional)]
    requester: bool,
) -> impl IntoView {
    let expired = move || deadline_ms.is_some_and(|d| now.get() >= d);
    // One decision at a time per page keeps the announced outcome unambiguous.
    let disabled = move || decide.pending().get() || expired();
    let button = {
        let instance_id = instance_id.clone();
        move |decision: Decision| {
            let id = instance_id.clone();
            let busy = move || in_flight(decide, &id) == Some(decision);
            // The style sheet shows the busy state (`aria-busy`): one label per button
            // instead of a reactive one keeps the WASM smaller.
            let (value, label) = match decision {
                Decision::Approve => ("approve", "Approve"),
                Decision::Reject => ("reject", "Reject"),
                Decision::Cancel => ("cancel", "Cancel order"),
            };
            view! {
                <button type="submit" name="decision" value=value class=value
                    aria-busy=move || busy().to_string()
                    disabled=disabled>{label}</button>
            }
        }
    };
    let comment_id = format!("comment-{instance_id}");
    let on_submit = {
        let instance_id = instance_id.clone();
        submit_through(decide, move |form| {
            Some(Decide {
                instance_id: instance_id.clone(),
                decision: submitted_decision(form)?,
                comment: Some(form.field("comment")),
            })
        })
    };
    let (buttons, placeholder) = if requester {
        (vec![button(Decision::Cancel)], "Why cancel (optional)")
    } else {
        (
            vec![button(Decision::Approve), button(Decision::Reject)],
            "Comment (optional)",
        )
    };
    view! {
        <form method="post" action=Decide::url() class="decide" on:submit=on_submit>
            <input type="hidden" name="instance_id" value=instance_id.clone()/>
            <label class="sr-only" for=comment_id.clone()>"Comment"</label>
            <input id=comment_id name="comment" placeholder=placeholder maxlength="500"
                disabled=expired/>
            {buttons}
        </form>
    }
}

#[component]
pub fn Notice(notice: DecisionNotice) -> impl IntoView {
    view! {
        <div aria-live="polite" class="notices">
            {move || notice.get().map(|(ok, message)| view! {
                <p class=if ok { "notice ok" } else { "notice error" } role=(!ok).then_some("alert")>{message}</p>
            })}
        </div>
    }
}
