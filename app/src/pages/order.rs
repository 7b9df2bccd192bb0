//! `/orders/{instance_id}`: one order, its status in words, a live countdown while it
//! waits, and the timeline of what happened.

use domain::OrderDetail;
use domain::OrderStatus;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::{get_order, Decide};
use crate::components::{
    use_live_resource, Countdown, DecisionForm, ErrorAlert, LiveResource, Loading, LocalTime,
    Notice, RequireUser,
};

#[component]
pub fn OrderPage() -> impl IntoView {
    view! { <RequireUser render=|_| view! { <OrderView/> }/> }
}

#[component]
fn OrderView() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
    view! {
        <OrderLive id=id.clone()/>
        <Assignment id/>
    }
}

/// Who holds the order, and the forms to claim, assign or release it: plain forms,
/// rendered on the server only (outside the island, so the bundle does not grow).
/// After a post the page comes back saying how it went.
#[component]
fn Assignment(id: String) -> impl IntoView {
    use crate::api::{order_assignment, ASSIGNED, ASSIGN_ERROR, ASSIGN_SEAL};
    let query = leptos_router::hooks::use_query_map();
    let (saved, refused, seal) = query.with_untracked(|q| {
        (
            q.get(ASSIGNED).is_some(),
            q.get(ASSIGN_ERROR).unwrap_or_default(),
            q.get(ASSIGN_SEAL).unwrap_or_default(),
        )
    });
    let panel = Resource::new_blocking(
        || (),
        move |_| order_assignment(id.clone(), refused.clone(), seal.clone()),
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                // The order itself (or why it cannot be shown) is the island's to say.
                panel.await.ok().filter(|p| p.waiting).map(|p| view! { <AssignmentForms p saved/> })
            })}
        </Suspense>
    }
}

#[component]
fn AssignmentForms(p: crate::api::AssignmentPanel, saved: bool) -> impl IntoView {
    let action = format!("/orders/{}/assign", p.instance_id);
    let held = match &p.assignee {
        Some(name) if *name == p.me => "You hold this order.".to_owned(),
        Some(name) => format!("Held by {name}."),
        None => "Nobody holds this order yet.".to_owned(),
    };
    let others: Vec<String> = p
        .assignable
        .iter()
        .filter(|name| Some(*name) != p.assignee.as_ref())
        .cloned()
        .collect();
    let claim = p.can_assign && p.assignee.as_ref() != Some(&p.me) && p.assignable.contains(&p.me);
    let release = p.can_assign && p.assignee.is_some();
    view! {
        <section class="card assignment" aria-labelledby="assignment-heading" data-testid="assignment">
            <h2 id="assignment-heading">"Assignment"</h2>
            {saved.then(|| view! { <p class="notice ok" role="status">"Saved."</p> })}
            {p.refused.map(|why| view! { <p class="notice error" role="alert">{why}</p> })}
            <p data-testid="held-by">{held}</p>
            {p.can_assign.then(|| view! {
                <p class="hint">"Holding an order decides nothing: anyone who may decide it still can."</p>
            })}
            {claim.then(|| view! {
                <form method="post" action=action.clone() class="decide">
                    <input type="hidden" name="action" value="claim"/>
                    <button type="submit" class="primary">"Claim: I'll take this"</button>
                </form>
            })}
            {(p.can_assign && !others.is_empty()).then(|| view! {
                <form method="post" action=action.clone() class="stack assign">
                    <input type="hidden" name="action" value="assign"/>
                    <label for="assign-to">"Assign to"</label>
                    <select id="assign-to" name="to">
                        {others.into_iter().map(|name| view! { <option value=name.clone()>{name.clone()}</option> }).collect_view()}
                    </select>
                    <label for="assign-comment">"Comment (optional)"</label>
                    <input id="assign-comment" name="comment" maxlength="500"/>
                    <button type="submit">"Assign"</button>
                </form>
            })}
            {release.then(|| view! {
                <form method="post" action=action.clone() class="decide">
                    <input type="hidden" name="action" value="release"/>
                    <button type="submit" class="cancel">"Release"</button>
                </form>
            })}
        </section>
    }
}

/// The whole order is live: its status, countdown and timeline follow every change, and
/// a manager can decide on it here.
#[island]
fn OrderLive(id: String) -> impl IntoView {
    let LiveResource {
        data: detail,
        now,
        decide,
        notice,
    } = use_live_resource(
        move |_| get_order(id.clone()),
        |d: &OrderDetail| d.server_now_ms,
    );
    view! {
        <Notice notice/>
        <Transition fallback=Loading>
            {move || detail.get().map(|detail| {
                match detail {
                    Ok(d) => view! { <Detail detail=d now decide/> }.into_any(),
                    Err(e) => view! { <ErrorAlert message=e.to_string()/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Rendered afresh on every refetch, so it owns no signals or effects (see
/// [`crate::components::decision`]).
#[component]
fn Detail(detail: OrderDetail, now: Signal<i64>, decide: ServerAction<Decide>) -> impl IntoView {
    let o = detail.order;
    let waiting = o.status == OrderStatus::AwaitingApproval;
    let deadline_ms = o.approval_deadline.map(|d| d.timestamp_millis());
    let label = o.status_label();
    view! {
        <article class="card order">
            <h1>"Order " {o.order_id.clone()}</h1>
            <p class=format!("status big {}", o.status.as_str()) data-testid="order-status">{label}</p>
            {detail.attention.map(|why| view! {
                <p class="attention" data-testid="attention">"Needs attention: " {why}</p>
            })}
            <dl class="facts">
                <dt>"Product"</dt><dd>{o.product.clone()}</dd>
                <dt>"Quantity"</dt><dd>{o.quantity}</dd>
                <dt>"Unit cost"</dt><dd class="money">{o.unit_cost.to_string()}</dd>
                <dt>"Total"</dt><dd class="money">{o.total.to_string()}</dd>
                <dt>"Requester"</dt><dd>{o.requested_by.clone().unwrap_or_else(|| "—".into())}</dd>
                {o.comment.clone().map(|c| view! { <dt>"Comment"</dt><dd>{c}</dd> })}
                {(waiting).then(|| o.approval_deadline.map(|d| view! {
                    <dt>"Deadline"</dt>
                    <dd><LocalTime at=d/> " · " <Countdown deadline_ms=d.timestamp_millis() now/> " left"</dd>
                }))}
            </dl>
            {(waiting && detail.can_decide).then(|| view! {
                <DecisionForm instance_id=o.instance_id.clone() decide deadline_ms now/>
            })}
            {(waiting && detail.can_cancel).then(|| view! {
                <DecisionForm instance_id=o.instance_id.clone() decide deadline_ms now requester=true/>
            })}
            <h2>"Timeline"</h2>
            <ol class="timeline">
                {detail.timeline.into_iter().map(|t| view! {
                    <li><span>{t.label}</span> " " <LocalTime at=t.at/></li>
                }).collect_view()}
            </ol>
        </article>
    }
}
