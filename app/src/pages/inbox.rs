//! `/`: the managers' inbox. Pending orders, soonest deadline first, each with a live
//! countdown and Approve / Reject; a second tab lists recent outcomes. Filter by text,
//! page through thousands. Requesters are sent to their own orders.

use leptos::prelude::*;
use leptos_router::components::{Form, Redirect, A};
use leptos_router::hooks::use_query_map;

use crate::api::{decided, inbox, OrderPage, PAGE_SIZE};
use crate::components::{
    money, use_live_changes, use_server_clock, Countdown, DecisionForm, LocalTime, RequireUser,
};
use crate::domain::{OrderView, UserView};

#[component]
pub fn InboxPage() -> impl IntoView {
    view! {
        <RequireUser render=|user: UserView| if user.is_manager() {
            view! { <Inbox me=user.name/> }.into_any()
        } else {
            view! { <Redirect path="/orders"/> }.into_any()
        }/>
    }
}

#[component]
fn Inbox(me: String) -> impl IntoView {
    let query = use_query_map();
    let tab_decided = move || query.read().get("tab").as_deref() == Some("decided");
    let text = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let live = use_live_changes();
    let (refresh, set_refresh) = signal(0u64);
    let orders = Resource::new(
        move || (tab_decided(), text(), page(), live.get(), refresh.get()),
        |(decided_tab, text, page, _, _)| async move {
            let offset = (page - 1) * PAGE_SIZE;
            if decided_tab {
                decided(text, offset).await
            } else {
                inbox(text, offset).await
            }
        },
    );
    let server_now =
        Signal::derive(move || orders.get().and_then(|r| r.ok()).map(|p| p.server_now_ms));
    let now = use_server_clock(server_now);
    let (notice, set_notice) = signal(None::<(bool, String)>);
    let on_done = Callback::new(move |result: Result<String, crate::api::AppError>| {
        set_notice.set(Some(match result {
            Ok(message) => (true, message),
            Err(e) => (false, e.to_string()),
        }));
        set_refresh.update(|n| *n += 1);
    });

    view! {
        <h1>"Inbox"</h1>
        <nav class="tabs" aria-label="Inbox sections">
            <A href="/" attr:aria-current=move || (!tab_decided()).then_some("page")>"Pending"</A>
            <A href="/?tab=decided" attr:aria-current=move || tab_decided().then_some("page")>"Decided"</A>
        </nav>
        <Form method="GET" action="" attr:class="filter" attr:role="search">
            {move || tab_decided().then(|| view! { <input type="hidden" name="tab" value="decided"/> })}
            <label for="q">"Filter"</label>
            <input id="q" name="q" type="search" value=text placeholder="Order, product or requester"/>
            <button type="submit">"Apply"</button>
        </Form>
        <div aria-live="polite" class="notices">
            {move || notice.get().map(|(ok, message)| view! {
                <p class=if ok { "notice ok" } else { "notice error" } role=(!ok).then_some("alert")>{message}</p>
            })}
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let me = me.clone();
                Suspend::new(async move {
                match orders.await {
                    Ok(page) if tab_decided() => view! { <DecidedTable page/> }.into_any(),
                    Ok(page) => view! { <PendingTable page me=me.clone() now on_done/> }.into_any(),
                    Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                }
            })}}
        </Transition>
    }
}

/// "Showing 26–50 of 10,000" with Previous / Next links that keep the filter.
#[component]
fn Pager(total: i64, offset: i64, shown: usize) -> impl IntoView {
    let query = use_query_map();
    let link = move |page: i64| {
        let q = query.read();
        let mut params = vec![format!("page={page}")];
        if let Some(tab) = q.get("tab") {
            params.push(format!("tab={tab}"));
        }
        if let Some(text) = q.get("q").filter(|t| !t.is_empty()) {
            params.push(format!("q={}", urlencode(&text)));
        }
        format!("/?{}", params.join("&"))
    };
    let page = offset / PAGE_SIZE + 1;
    let first = if shown == 0 { 0 } else { offset + 1 };
    let last = offset + shown as i64;
    view! {
        <nav class="pager" aria-label="Pages">
            <span>{format!("Showing {first}–{last} of {total}")}</span>
            {(page > 1).then(|| view! { <a href=link(page - 1) rel="prev">"Previous"</a> })}
            {(last < total).then(|| view! { <a href=link(page + 1) rel="next">"Next"</a> })}
        </nav>
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn PendingTable(
    page: OrderPage,
    me: String,
    now: Signal<i64>,
    on_done: Callback<Result<String, crate::api::AppError>>,
) -> impl IntoView {
    if page.orders.is_empty() {
        return view! { <p class="empty">"Nothing is waiting for a decision."</p> }.into_any();
    }
    let shown = page.orders.len();
    view! {
        <div class="table-wrap">
        <table class="orders inbox">
            <thead><tr>
                <th scope="col">"Order"</th><th scope="col">"Product"</th>
                <th scope="col" class="num">"Qty"</th><th scope="col" class="num">"Total"</th>
                <th scope="col">"Requester"</th><th scope="col">"Submitted"</th>
                <th scope="col">"Time left"</th><th scope="col">"Decision"</th>
            </tr></thead>
            <tbody>
                {page.orders.into_iter().map(|o| view! { <PendingRow order=o me=me.clone() now on_done/> }).collect_view()}
            </tbody>
        </table>
        </div>
        <Pager total=page.total offset=page.offset shown/>
    }
    .into_any()
}

#[component]
fn PendingRow(
    order: OrderView,
    me: String,
    now: Signal<i64>,
    on_done: Callback<Result<String, crate::api::AppError>>,
) -> impl IntoView {
    let deadline = order
        .approval_deadline
        .map(|d| d.timestamp_millis())
        .unwrap_or(i64::MAX);
    let expired = Signal::derive(move || now.get() >= deadline);
    let href = format!("/orders/{}", order.instance_id);
    // Nobody decides their own order; the server refuses it too.
    let own = order.requested_by.as_deref() == Some(me.as_str());
    view! {
        <tr data-instance=order.instance_id.clone()>
            <td><a href=href>{order.order_id.clone()}</a></td>
            <td>{order.product.clone()}</td>
            <td class="num">{order.quantity}</td>
            <td class="num">{money(order.total)}</td>
            <td>{order.requested_by.clone().unwrap_or_default()}</td>
            <td><LocalTime at=order.created_at/></td>
            <td>{order.approval_deadline.map(|d| view! { <Countdown deadline_ms=d.timestamp_millis() now/> })}</td>
            <td>{if own {
                view! { <span class="muted">"Your order"</span> }.into_any()
            } else {
                view! { <DecisionForm instance_id=order.instance_id.clone() expired on_done/> }.into_any()
            }}</td>
        </tr>
    }
}

#[component]
fn DecidedTable(page: OrderPage) -> impl IntoView {
    if page.orders.is_empty() {
        return view! { <p class="empty">"No decisions yet."</p> }.into_any();
    }
    let shown = page.orders.len();
    view! {
        <div class="table-wrap">
        <table class="orders">
            <thead><tr>
                <th scope="col">"Order"</th><th scope="col">"Product"</th>
                <th scope="col" class="num">"Total"</th><th scope="col">"Requester"</th>
                <th scope="col">"Outcome"</th><th scope="col">"When"</th>
            </tr></thead>
            <tbody>
                {page.orders.into_iter().map(|o| {
                    let label = o.status_label();
                    view! {
                        <tr data-instance=o.instance_id.clone()>
                            <td><a href=format!("/orders/{}", o.instance_id)>{o.order_id}</a></td>
                            <td>{o.product}</td>
                            <td class="num">{money(o.total)}</td>
                            <td>{o.requested_by.unwrap_or_default()}</td>
                            <td><span class=format!("status {}", o.status.as_str())>{label}</span></td>
                            <td>{o.decided_at.map(|at| view! { <LocalTime at/> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <Pager total=page.total offset=page.offset shown/>
    }
    .into_any()
}
