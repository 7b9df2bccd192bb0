//! `/`: the managers' inbox. Pending orders, soonest deadline first, each with a live
//! countdown and Approve / Reject, and a selection to approve or reject at once; a
//! second tab lists recent outcomes. Filter by text, sort, page through thousands.
//! Requesters are sent to their own orders.

use domain::{HeldBy, OrderView, SortKey, UserView};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::{
    bulk_report, decided, inbox, inbox_waiting, AppError, Decide, OrderPage, BULK_ERROR, BULK_SEAL,
    BULK_SELECTED,
};
use crate::components::{
    page_param, use_live_resource, Column, Countdown, DecisionForm, ErrorAlert, LiveResource,
    Loading, LocalTime, Notice, OrderLink, OrderTable, Pager, RequireUser, StatusBadge,
};
use crate::paging::PAGE_SIZE;

#[component]
pub fn InboxPage() -> impl IntoView {
    view! {
        <RequireUser render=|user: UserView| if user.decides_orders() {
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

/// The id of the bulk decision form, which the rows' checkboxes name.
const BULK_FORM: &str = "bulk";

/// The id of the Pending tab's count of what waits for the reader (`" (12)"`).
const WAITING_COUNT: &str = "waiting-count";

const PENDING_COLUMNS: &[Column] = &[
    ("Select", false),
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
/// The Pending tab's count is rendered here and kept current by the island.
#[component]
fn Inbox(me: String) -> impl IntoView {
    let query = use_query_map();
    let (decided_tab, text, page, sort) = query.with_untracked(|q| {
        (
            q.get("tab").as_deref() == Some("decided"),
            q.get("q").unwrap_or_default(),
            page_param(q),
            // Only a sort the list knows; anything else is the list's own order.
            q.get("sort")
                .filter(|s| SortKey::parse(s).is_some())
                .unwrap_or_default(),
        )
    });
    let bulk = query.with_untracked(|q| {
        let selected = q.get_all(BULK_SELECTED).unwrap_or_default();
        let refused = q.get(BULK_ERROR).unwrap_or_default();
        let seal = q.get(BULK_SEAL).unwrap_or_default();
        (!selected.is_empty() || !refused.is_empty()).then_some((selected, refused, seal))
    });
    view! {
        <h1>"Inbox"</h1>
        <nav class="tabs" aria-label="Inbox sections">
            <a href="/" aria-current=(!decided_tab).then_some("page")>
                "Pending"
                <span id=WAITING_COUNT>
                    <Suspense>
                        {Suspend::new(async move { inbox_waiting().await.unwrap_or_default() })}
                    </Suspense>
                </span>
            </a>
            <a href="/?tab=decided" aria-current=decided_tab.then_some("page")>"Decided"</a>
        </nav>
        <form method="get" action="/" class="filter" role="search">
            {decided_tab.then(|| view! { <input type="hidden" name="tab" value="decided"/> })}
            <label for="q">"Filter"</label>
            <input id="q" name="q" type="search" value=text.clone() placeholder="Order, product or requester"/>
            <label for="sort">"Sort"</label>
            <select id="sort" name="sort">{sort_options(decided_tab, &sort)}</select>

            <button type="submit">"Apply"</button>
        </form>
        {(!decided_tab).then(|| held_links(&text, &sort))}
        {decided_tab.then(|| {
            let href = format!("/api/orders.csv{}", csv_query(&text));
            view! { <p class="download"><a href=href download="">"Download CSV"</a></p> }
        })}
        {bulk.map(|(selected, refused, seal)| view! { <BulkOutcome selected refused seal/> })}
        {(!decided_tab).then(|| view! { <BulkForm text=text.clone() sort=sort.clone()/> })}
        <InboxResults me decided_tab text page sort/>
    }
}

/// The Pending tab's filter by who holds an order: `held:me` or `held:nobody` in the
/// filter text (what these links set, and what one may type).
fn held_links(text: &str, sort: &str) -> impl IntoView {
    let (held, rest) = HeldBy::split_from(text);
    let sort = if sort.is_empty() {
        String::new()
    } else {
        format!("&sort={sort}")
    };
    let link = move |chosen: Option<HeldBy>, label: &'static str| {
        let q = match chosen {
            Some(h) => format!("held:{} {rest}", h.as_str()),
            None => rest.clone(),
        };
        let href = format!("/?q={}{sort}", urlencode(q.trim()));
        view! { <a href=href aria-current=(held == chosen).then_some("true")>{label}</a> }
    };
    view! {
        <p class="held-filter">
            "Show: " {link(None, "All")} " · " {link(Some(HeldBy::Me), HeldBy::Me.label())}
            " · " {link(Some(HeldBy::Nobody), HeldBy::Nobody.label())}
        </p>
    }
}

/// The sorts a tab offers, its own order first (value ""), `chosen` selected.
fn sort_options(decided_tab: bool, chosen: &str) -> impl IntoView {
    let own = if decided_tab {
        "Decided, latest first"
    } else {
        SortKey::Deadline.label()
    };
    let others = SortKey::ALL
        .into_iter()
        .filter(move |k| decided_tab || *k != SortKey::Deadline);
    let option = |value: &'static str, label: &'static str| {
        view! { <option value=value selected=chosen == value>{label}</option> }
    };
    let mut options = vec![option("", own)];
    options.extend(others.map(|k| option(k.as_str(), k.label())));
    options
}

/// "Approve selected" / "Reject selected": a plain form outside the island. The rows'
/// checkboxes belong to it through their `form` attribute, so it posts whatever is
/// ticked, with or without JavaScript.
#[component]
fn BulkForm(text: String, sort: String) -> impl IntoView {
    view! {
        <form id=BULK_FORM method="post" action="/inbox/decide" class="bulk">
            <input type="hidden" name="q" value=text/>
            <input type="hidden" name="sort" value=sort/>
            <label for="bulk-comment">"Selected orders"</label>
            <input id="bulk-comment" name="comment" maxlength="500"
                placeholder="One comment for all of them (optional)"/>
            <button type="submit" name="decision" value="approve" class="approve">"Approve selected"</button>
            <button type="submit" name="decision" value="reject" class="reject">"Reject selected"</button>
        </form>
    }
}

/// What a bulk decision came to, order by order, as the read model has it now.
#[component]
fn BulkOutcome(selected: Vec<String>, refused: String, seal: String) -> impl IntoView {
    let report = Resource::new_blocking(
        || (),
        move |_| bulk_report(selected.clone(), refused.clone(), seal.clone()),
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => view! {
                        <section class="bulk-report" aria-label="Selected orders" role="status">
                            {report.refused.map(|why| view! { <p class="notice error">{why}</p> })}
                            <ul>
                                {report.lines.into_iter().map(|line| {
                                    let name = line.order_id.unwrap_or_else(|| line.instance_id.clone());
                                    view! {
                                        <li class=if line.decided { "ok" } else { "not" }
                                            data-instance=line.instance_id>
                                            <strong>{name}</strong> " " {line.text}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <ErrorAlert message=e.to_string()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The live part of the inbox: refetches on every change anywhere, ticks the
/// countdowns, and carries the decisions.
#[island]
fn InboxResults(
    me: String,
    decided_tab: bool,
    text: String,
    page: i64,
    sort: String,
) -> impl IntoView {
    let pager_query = pager_query(decided_tab, &text, &sort);
    let LiveResource {
        data: orders,
        now,
        decide,
        notice,
    } = use_live_resource(
        move |_| {
            let (text, sort, offset) = (text.clone(), sort.clone(), (page - 1) * PAGE_SIZE);
            async move {
                if decided_tab {
                    decided(text, offset, sort).await
                } else {
                    inbox(text, offset, sort).await
                }
            }
        },
        |p: &OrderPage| p.server_now_ms,
    );
    // The Pending tab's count sits outside the island (the tabs are plain HTML); it
    // follows every refetch, whichever tab is open. Writing one text node costs the
    // bundle far less than making the tabs part of the island.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let waiting = orders.get().and_then(Result::ok).and_then(|p| p.waiting);
        if let (Some(text), Some(count)) = (waiting, document().get_element_by_id(WAITING_COUNT)) {
            count.set_text_content(Some(&text));
        }
    });
    view! {
        <Notice notice/>
        <Transition fallback=Loading>
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
        page().map(|p| {
            view! { <Pager base="/" total=p.total offset=p.offset shown=p.orders.len() query/> }
        })
    };
    move || {
        let me = me.clone();
        shape.get().map(|shape| match shape {
            Shape::Failed(message) => view! { <ErrorAlert message/> }.into_any(),
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

/// The tab, filter and sort every pager link keeps, as `&tab=…&q=…&sort=…`.
fn pager_query(decided_tab: bool, text: &str, sort: &str) -> String {
    let mut query = String::new();
    if decided_tab {
        query.push_str("&tab=decided");
    }
    if !text.is_empty() {
        query.push_str("&q=");
        query.push_str(&urlencode(text));
    }
    if !sort.is_empty() {
        // A known sort's name: nothing to encode.
        query.push_str("&sort=");
        query.push_str(sort);
    }
    query
}

/// The CSV export of what the Decided tab shows (its filter text, if any).
fn csv_query(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("?q={}", urlencode(text))
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
    // Nobody decides their own order; the server refuses it too.
    let own = order.requested_by.as_deref() == Some(me.as_str());
    // The checkbox belongs to the bulk form outside the island (its `form` attribute).
    // Written as markup, which costs the bundle less than one more element type. Order
    // ids are `[A-Za-z0-9._-]` (domain::OrderId), so they need no escaping; one that
    // were not gets no checkbox rather than markup of its own making.
    let plain = |id: &str| {
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    let select = if own || !plain(&order.instance_id) || !plain(&order.order_id) {
        String::new()
    } else {
        format!(
            r#"<input type="checkbox" name="instance_id" value="{}" form="{BULK_FORM}" aria-label="Select order {}">"#,
            order.instance_id, order.order_id
        )
    };
    view! {
        <tr data-instance=order.instance_id.clone()>
            <td inner_html=select></td>
            <td><OrderLink instance_id=order.instance_id.clone() order_id=order.order_id.clone()/></td>
            <td>{order.product.clone()}</td>
            <td class="num">{order.quantity}</td>
            <td class="num">{order.total.to_string()}</td>
            <td>{order.note.clone()}</td>
            <td><LocalTime at=order.created_at/></td>
            <td>
                {deadline_ms.map(|deadline_ms| view! { <Countdown deadline_ms now/> })}
            </td>
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
            <td><OrderLink instance_id=order.instance_id.clone() order_id=order.order_id/></td>
            <td>{order.product}</td>
            <td class="num">{order.total.to_string()}</td>
            <td>{order.requested_by.unwrap_or_default()}</td>
            <td><StatusBadge status=order.status label/></td>
            <td>{order.decided_at.map(|at| view! { <LocalTime at/> })}</td>
        </tr>
    }
}
