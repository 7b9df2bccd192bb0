//! What the order page shows beside the order (server only): its attached files with
//! the requester's form to add more, the form that writes in its thread (which the
//! timeline shows, live), whether a question to the requester is open, and who holds
//! the order with the forms to claim, assign or release it. Plain forms that work
//! without JavaScript; after a post the page comes back saying how it went
//! (`server::http::attachments`, `server::http::comments`, `server::http::assignment`).
//!
//! Read here during rendering, not through a server function: a server function costs
//! the browser's bundle its answer's decoding even when only the server calls it, and
//! the bundle has a budget.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use domain::{AttachmentView, MAX_ATTACHMENTS};

use crate::api::{
    AppError, Ctx, ASSIGNED, ASSIGN_ERROR, ASSIGN_SEAL, ATTACHED, ATTACH_ERROR, ATTACH_SEAL,
    COMMENTED, COMMENT_ERROR, COMMENT_SEAL,
};

/// The order's files, and whether the reader may add one.
struct FilesPanel {
    instance_id: String,
    files: Vec<AttachmentView>,
    can_attach: bool,
    refused: Option<String>,
}

/// The reader's part in the order's thread.
struct ThreadPanel {
    instance_id: String,
    participant: bool,
    requester: Option<String>,
    is_requester: bool,
    /// Since when a question to the requester is open (UTC, as written).
    question_since: Option<String>,
    /// Why the last post was refused, when the page came back with one.
    refused: Option<String>,
}

/// Who holds the order, and what the reader may do about it.
struct AssignmentPanel {
    instance_id: String,
    waiting: bool,
    assignee: Option<String>,
    me: String,
    can_assign: bool,
    assignable: Vec<String>,
    refused: Option<String>,
}

/// The two panels for order `id`, as its page renders them.
pub fn panels(id: String) -> AnyView {
    // Contexts are read now, while rendering; the reads below run later.
    let ctx = Ctx::new();
    let query = use_query_map();
    let (commented, assigned, attached, refusals) = query.with_untracked(|q| {
        let get = |name| q.get(name).unwrap_or_default();
        (
            q.get(COMMENTED).is_some(),
            q.get(ASSIGNED).is_some(),
            q.get(ATTACHED).is_some(),
            [
                get(COMMENT_ERROR),
                get(COMMENT_SEAL),
                get(ASSIGN_ERROR),
                get(ASSIGN_SEAL),
                get(ATTACH_ERROR),
                get(ATTACH_SEAL),
            ],
        )
    });
    view! {
        <Suspense>
            {Suspend::new(async move {
                // The order itself (or why it cannot be shown) is the island's to say.
                read(&ctx, &id, refusals).await.ok().map(|(files, thread, assignment)| view! {
                    {(files.can_attach || !files.files.is_empty() || files.refused.is_some())
                        .then(|| view! { <Files p=files saved=attached/> })}
                    {thread.participant.then(|| view! { <ThreadForm p=thread saved=commented/> })}
                    {assignment.waiting.then(|| view! { <AssignmentForms p=assignment saved=assigned/> })}
                })
            })}
        </Suspense>
    }
    .into_any()
}

async fn read(
    ctx: &Ctx,
    instance_id: &str,
    [comment_refused, comment_seal, assign_refused, assign_seal, attach_refused, attach_seal]: [String; 6],
) -> Result<(FilesPanel, ThreadPanel, AssignmentPanel), AppError> {
    let user = ctx.require_user().await?;
    let (detail, files) = tokio::join!(
        ctx.state.orders.detail(&user, instance_id),
        ctx.state.orders.attachments(&user, instance_id),
    );
    let (detail, files) = (detail?, files?);
    let order = detail.order;
    let is_requester = order.requested_by.as_deref() == Some(user.name.as_str());
    let files = FilesPanel {
        instance_id: order.instance_id.clone(),
        can_attach: is_requester
            && matches!(
                order.status,
                domain::OrderStatus::Submitted | domain::OrderStatus::AwaitingApproval
            )
            && i64::from(order.attachments) < MAX_ATTACHMENTS,
        files,
        refused: ctx.notice(ATTACH_ERROR, attach_refused, &attach_seal),
    };
    let thread = ThreadPanel {
        instance_id: order.instance_id.clone(),
        participant: detail.can_discuss,
        requester: order.requested_by.clone(),
        is_requester,
        question_since: detail
            .question_since
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
        refused: ctx.notice(COMMENT_ERROR, comment_refused, &comment_seal),
    };
    let assignment = AssignmentPanel {
        instance_id: order.instance_id,
        waiting: order.status == domain::OrderStatus::AwaitingApproval,
        assignee: order.assignee,
        me: user.name,
        can_assign: detail.can_assign,
        assignable: detail.assignable,
        refused: ctx.notice(ASSIGN_ERROR, assign_refused, &assign_seal),
    };
    Ok((files, thread, assignment))
}

/// A size as people read it.
fn size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", (b + 512) / 1024),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[component]
fn Files(p: FilesPanel, saved: bool) -> impl IntoView {
    let id = p.instance_id.clone();
    let rows = p
        .files
        .into_iter()
        .map(|f| {
            let href = format!("/api/orders/{}/attachments/{}", id, f.id);
            let kind = domain::FileType::from_mime(&f.content_type).map(|k| k.label()).unwrap_or("file");
            view! {
                <li>
                    <a href=href download=f.name.clone()>{f.name.clone()}</a>
                    <span class="muted">" " {kind} ", " {size(f.size)} ", added by " {f.added_by}</span>
                </li>
            }
        })
        .collect_view();
    let action = format!("/orders/{}/attachments", p.instance_id);
    view! {
        <section class="card files" aria-labelledby="files-heading" data-testid="files">
            <h2 id="files-heading">"Files"</h2>
            {saved.then(|| view! { <p class="notice ok" role="status">"Attached."</p> })}
            {p.refused.map(|why| view! { <p class="notice error" role="alert">{why}</p> })}
            <ul class="file-list">{rows}</ul>
            {p.can_attach.then(|| view! {
                <form method="post" action=action enctype="multipart/form-data" class="stack">
                    <label for="attach-file">"Attach the quote or another file"</label>
                    <input id="attach-file" name="file" type="file" multiple required
                        accept="application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"/>
                    <p class="hint">"PDF, PNG or JPEG, up to 10 MB each; at most 5 files per order."</p>
                    <button type="submit" class="primary">"Attach"</button>
                </form>
            })}
        </section>
    }
}

#[component]
fn ThreadForm(p: ThreadPanel, saved: bool) -> impl IntoView {
    let action = format!("/orders/{}/comments", p.instance_id);
    let requester = p
        .requester
        .clone()
        .unwrap_or_else(|| "the requester".into());
    let open = p.question_since.clone().map(|since| {
        let whose = if p.is_requester {
            "you".to_owned()
        } else {
            requester.clone()
        };
        view! {
            <p class="hint" data-testid="question-open">
                "A question to " {whose} " is open since " {since}
                ". The deadline keeps running while it is: an answer does not stop it."
            </p>
        }
    });
    view! {
        <section class="card thread" aria-labelledby="thread-heading" data-testid="thread">
            <h2 id="thread-heading">"Questions and answers"</h2>
            <p class="muted">"The thread shows in the timeline above, to "
                {requester.clone()} " and to whoever decides this order."</p>
            {saved.then(|| view! { <p class="notice ok" role="status">"Posted."</p> })}
            {p.refused.map(|why| view! { <p class="notice error" role="alert">{why}</p> })}
            {open}
            <form method="post" action=action class="stack">
                <label for="thread-text">{if p.is_requester { "Your answer or message" } else { "Your message" }}</label>
                <input id="thread-text" name="text" maxlength="500" required=true autocomplete="off"/>
                {(!p.is_requester).then(|| view! {
                    <label class="check">
                        <input type="checkbox" name="question" value="1"/>
                        " Ask " {requester.clone()} " (marks the order \u{201c}question open\u{201d} until they answer)"
                    </label>
                })}
                <button type="submit" class="primary">"Post"</button>
            </form>
        </section>
    }
}

#[component]
fn AssignmentForms(p: AssignmentPanel, saved: bool) -> impl IntoView {
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
                    <label for="assign-comment">"Why (optional, for the timeline)"</label>
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
