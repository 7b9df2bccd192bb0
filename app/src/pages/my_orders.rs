//! `/orders`: the signed-in person's own orders, newest first.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::my_orders;
use crate::components::clock::provide_hydrated;
use crate::components::{
    page_param, use_live_changes, Column, ErrorAlert, Loading, LocalTime, OrderLink, OrderTable,
    Pager, RequireUser, StatusBadge,
};
use crate::paging::PAGE_SIZE;

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
        <Transition fallback=Loading>
            {move || orders.get().map(|listing| {
                match listing {
                    Ok(p) if p.orders.is_empty() => view! {
                        <p class="empty">"You have not submitted any orders yet."</p>
                    }.into_any(),
                    Ok(p) => {
                        let (total, offset, shown) = (p.total, p.offset, p.orders.len());
                        view! {
                            <OrderTable columns=COLUMNS>
                                {p.orders.into_iter().map(|o| {
                                    let label = o.status_label();
                                    view! {
                                        <tr data-instance=o.instance_id.clone()>
                                            <td><OrderLink instance_id=o.instance_id.clone() order_id=o.order_id/></td>
                                            <td>{o.product}</td>
                                            <td class="num">{o.quantity}</td>
                                            <td class="num">{o.total.to_string()}</td>
                                            <td><LocalTime at=o.created_at/></td>
                                            <td><StatusBadge status=o.status label/></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </OrderTable>
                            <Pager base="/orders" total offset shown/>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorAlert message=e.to_string()/> }.into_any(),
                }
            })}
        </Transition>
    }
}
