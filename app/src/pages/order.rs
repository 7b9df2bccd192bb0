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
        <Panels id/>
    }
}

/// Beside the order: its thread's form and who holds it (see
/// [`super::order_panels`]), rendered on the server only.
#[component]
fn Panels(id: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        super::order_panels::panels(id)
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = id;
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
