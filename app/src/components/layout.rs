//! The page frame: header with navigation, and the guard that sends signed-out people to
//! the sign-in page.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};

use super::messages::{ErrorAlert, Loading};
use crate::api::Logout;
use domain::UserView;

pub type MeResource = Resource<Result<Option<UserView>, crate::api::AppError>>;

pub fn use_me() -> MeResource {
    expect_context::<MeResource>()
}

#[component]
pub fn Header() -> impl IntoView {
    let me = use_me();
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="top">
            <a class="brand" href="/">"Approvals"</a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|user| view! {
                        <nav aria-label="Main">
                            {user.decides_orders().then(|| view! { <A href="/">"Inbox"</A> })}
                            <A href="/orders">"My orders"</A>
                            <A href="/orders/new">"New order"</A>
                        </nav>
                        <div class="who">
                            <span>
                                <a href="/settings" title="Settings">{user.name.clone()}</a>
                                " · " {user.role.as_str()}
                            </span>
                            <ActionForm action=logout>
                                <button type="submit" class="link">"Sign out"</button>
                            </ActionForm>
                        </div>
                    })
                })}
            </Transition>
        </header>
    }
}

/// Renders `render` with the signed-in user, or redirects to `/login`.
///
/// The page is built exactly once. A `move ||` closure here would be called twice on the
/// server (once to find the resources to wait for, once to render), and so would
/// everything under it: each island's resource would be created and fetched twice, the
/// first copy's data sent to the browser, the second's rendered into the HTML. When the
/// order changed between the two fetches (right after it was submitted, say), the
/// island met markup its data did not describe and died of a hydration error. This runs
/// on the server only (the router does), so nothing here needs to re-render.
#[component]
pub fn RequireUser<F, IV>(render: F) -> impl IntoView
where
    F: Fn(UserView) -> IV + Send + Sync + Clone + 'static,
    IV: IntoView + 'static,
{
    let me = use_me();
    view! {
        <Transition fallback=Loading>
            {
                let render = render.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(user)) => render(user).into_any(),
                        Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                        Err(e) => view! { <ErrorAlert message=e.to_string()/> }.into_any(),
                    }
                })
            }
        </Transition>
    }
}
