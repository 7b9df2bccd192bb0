//! `/`: the managers' inbox. Pending orders, soonest deadline first, each with a live
//! countdown and Approve / Reject; a second tab lists recent outcomes. Filter by text,
//! page through thousands. Requesters are sent to their own orders.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::{decided, inbox, AppError, Decide, OrderPage, PAGE_SIZE};
use crate::components::clock::provide_hydrated;
use crate::components::{
    money, page_param, use_decisions, use_live_changes, use_server_clock, Column, Countdown,
    DecisionForm, LocalTime, Notice, OrderTable, RequireUser,
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

/// What the results area shows. Only a change of shape re-renders the table; rows come
/// and go through a keyed list, so a live update never disturbs a comment being typed
/// or a decision in flight on another row.
#[derive(Clone, PartialEq)]
enum Shape {
    Failed(String),
    Empty,
    Rows,
}

const PENDING_COLUMNS: &[Column] = &[
    ("Order", false),
    ("Product", false),
    ("Qty", true),
    ("Total", true),
    ("Requester", false),
    ("Submitted", false),
    ("Time left", false),
    ("Decision", false),
];

const DECIDED_COLUMNS: &[Column] = &[
    ("Order", false),
    ("Product", false),
    ("Total", true),
    ("Requester", false),
    ("Outcome", false),
    ("When", false),
];

/// The page's static frame (heading, tabs, filter) is plain HTML; only the results are
/// an island. Changing tab, filter or page is a navigation, so the island gets them once.
#[component]
fn Inbox(me: String) -> impl IntoView {
    let query = use_query_map();
    let (decided_tab, text, page) = query.with_untracked(|q| {
        (
            q.get("tab").as_deref() == Some("decided"),
            q.get("q").unwrap_or_default(),
            page_param(q),
        )
    });
    view! {
        <h1>"Inbox"</h1>
        <nav class="tabs" aria-label="Inbox sections">
            <a href="/" aria-current=(!decided_tab).then_some("page")>"Pending"</a>
            <a href="/?tab=decided" aria-current=decided_tab.then_some("page")>"Decided"</a>
        </nav>
        <form method="get" action="/" class="filter" role="search">
            {decided_tab.then(|| view! { <input type="hidden" name="tab" value="decided"/> })}
            <label for="q">"Filter"</label>
            <input id="q" name="q" type="search" value=text.clone() placeholder="Order, product or requester"/>
            <button type="submit">"Apply"</button>
        </form>
        <InboxResults me decided_tab text page/>
    }
}

/// The live part of the inbox: refetches on every change anywhere, ticks the
/// countdowns, and carries the decisions.
#[island]
fn InboxResults(me: String, decided_tab: bool, text: String, page: i64) -> impl IntoView {
    provide_hydrated();
    let live = use_live_changes();
    let (refresh, set_refresh) = signal(0u64);
    let pager_query = pager_query(decided_tab, &text);
    let orders: Resource<Result<OrderPage, AppError>> = Resource::new(
        move || (live.get(), refresh.get()),
        move |_| {
            let (text, offset) = (text.clone(), (page - 1) * PAGE_SIZE);
            async move {
                if decided_tab {
                    decided(text, offset).await
                } else {
                    inbox(text, offset).await
                }
            }
        },
    );
    let server_now =
        Signal::derive(move || orders.get().and_then(|r| r.ok()).map(|p| p.server_now_ms));
    let now = use_server_clock(server_now);
    let (decide, notice) = use_decisions(set_refresh);
    view! {
        <Notice notice/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            <Results orders decided_tab me now decide pager_query=pager_query.clone()/>
        </Transition>
    }
}

/// Rendered once inside the `Transition`; reading the resource here registers it with
/// the transition, so the server waits for it and the browser keeps old rows on screen
/// while new ones load.
#[component]
fn Results(
    orders: Resource<Result<OrderPage, AppError>>,
    decided_tab: bool,
    me: String,
    now: Signal<i64>,
    decide: ServerAction<Decide>,
    pager_query: String,
) -> impl IntoView {
    let shape = Memo::new(move |_| {
        orders.get().map(|listing| match listing {
            Err(e) => Shape::Failed(e.to_string()),
            Ok(p) if p.orders.is_empty() => Shape::Empty,
            Ok(_) => Shape::Rows,
        })
    });
    let page = move || orders.get().and_then(|r| r.ok());
    let rows = move || page().map(|p| p.orders).unwrap_or_default();
    let pager = move || {
        let query = pager_query.clone();
        page().map(|p| view! { <Pager total=p.total offset=p.offset shown=p.orders.len() query/> })
    };
    move || {
        let me = me.clone();
        shape.get().map(|shape| match shape {
            Shape::Failed(message) => {
                view! { <p role="alert" class="error">{message}</p> }.into_any()
            }
            Shape::Empty if decided_tab => {
                view! { <p class="empty">"No decisions yet."</p> }.into_any()
            }
            Shape::Empty => {
                view! { <p class="empty">"Nothing is waiting for a decision."</p> }.into_any()
            }
            Shape::Rows if decided_tab => view! {
                <OrderTable columns=DECIDED_COLUMNS>
                    <For each=rows key=|o| o.instance_id.clone() let:order>
                        <DecidedRow order/>
                    </For>
                </OrderTable>
                {pager.clone()}
            }
            .into_any(),
            Shape::Rows => view! {
                <OrderTable class="inbox" columns=PENDING_COLUMNS>
                    <For each=rows key=|o| o.instance_id.clone() let:order>
                        <PendingRow order me=me.clone() now decide/>
                    </For>
                </OrderTable>
                {pager.clone()}
            }
            .into_any(),
        })
    }
}

/// The tab and filter every pager link keeps, as `&tab=…&q=…`.
fn pager_query(decided_tab: bool, text: &str) -> String {
    let mut query = String::new();
    if decided_tab {
        query.push_str("&tab=decided");
    }
    if !text.is_empty() {
        query.push_str("&q=");
        query.push_str(&urlencode(text));
    }
    query
}

/// "Showing 26–50 of 10,000" with Previous / Next links that keep the tab and filter.
#[component]
fn Pager(total: i64, offset: i64, shown: usize, query: String) -> impl IntoView {
    let link = move |page: i64| format!("/?page={page}{query}");
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
fn PendingRow(
    order: OrderView,
    me: String,
    now: Signal<i64>,
    decide: ServerAction<Decide>,
) -> impl IntoView {
    let deadline_ms = order.approval_deadline.map(|d| d.timestamp_millis());
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
            <td>{deadline_ms.map(|deadline_ms| view! { <Countdown deadline_ms now/> })}</td>
            <td>{if own {
                view! { <span class="muted">"Your order"</span> }.into_any()
            } else {
                view! { <DecisionForm instance_id=order.instance_id.clone() decide deadline_ms now/> }.into_any()
            }}</td>
        </tr>
    }
}

#[component]
fn DecidedRow(order: OrderView) -> impl IntoView {
    let label = order.status_label();
    view! {
        <tr data-instance=order.instance_id.clone()>
            <td><a href=format!("/orders/{}", order.instance_id)>{order.order_id}</a></td>
            <td>{order.product}</td>
            <td class="num">{money(order.total)}</td>
            <td>{order.requested_by.unwrap_or_default()}</td>
            <td><span class=format!("status {}", order.status.as_str())>{label}</span></td>
            <td>{order.decided_at.map(|at| view! { <LocalTime at/> })}</td>
        </tr>
    }
}
