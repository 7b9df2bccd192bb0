//! `/orders`: the signed-in person's own orders, newest first.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{my_orders, PAGE_SIZE};
use crate::components::clock::provide_hydrated;
use crate::components::{
    money, page_param, use_live_changes, Column, LocalTime, OrderTable, RequireUser,
};

const COLUMNS: &[Column] = &[
    ("Order", false),
    ("Product", false),
    ("Qty", true),
    ("Total", true),
    ("Submitted", false),
    ("Status", false),
];

#[component]
pub fn MyOrdersPage() -> impl IntoView {
    view! { <RequireUser render=|_| view! { <MyOrders/> }/> }
}

#[component]
fn MyOrders() -> impl IntoView {
    let query = use_query_map();
    let page = query.with_untracked(page_param);
    view! {
        <div class="heading">
            <h1>"My orders"</h1>
            <a class="button primary" href="/orders/new">"New order"</a>
        </div>
        <MyOrdersList page/>
    }
}

/// The list follows every change to the requester's orders without a reload.
#[island]
fn MyOrdersList(page: i64) -> impl IntoView {
    provide_hydrated();
    let live = use_live_changes();
    let orders = Resource::new(
        move || live.get(),
        move |_| my_orders((page - 1) * PAGE_SIZE),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || orders.get().map(|listing| {
                match listing {
                    Ok(p) if p.orders.is_empty() => view! {
                        <p class="empty">"You have not submitted any orders yet."</p>
                    }.into_any(),
                    Ok(p) => {
                        let page_no = p.offset / PAGE_SIZE + 1;
                        let more = p.offset + (p.orders.len() as i64) < p.total;
                        view! {
                            <OrderTable columns=COLUMNS>
                                {p.orders.into_iter().map(|o| {
                                    let label = o.status_label();
                                    view! {
                                        <tr data-instance=o.instance_id.clone()>
                                            <td><a href=format!("/orders/{}", o.instance_id)>{o.order_id}</a></td>
                                            <td>{o.product}</td>
                                            <td class="num">{o.quantity}</td>
                                            <td class="num">{money(o.total)}</td>
                                            <td><LocalTime at=o.created_at/></td>
                                            <td><span class=format!("status {}", o.status.as_str())>{label}</span></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </OrderTable>
                            <nav class="pager" aria-label="Pages">
                                {(page_no > 1).then(|| view! { <a href=format!("/orders?page={}", page_no - 1)>"Previous"</a> })}
                                {more.then(|| view! { <a href=format!("/orders?page={}", page_no + 1)>"Next"</a> })}
                            </nav>
                        }.into_any()
                    }
                    Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
