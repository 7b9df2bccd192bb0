//! The activities: where the workflow touches the world. Here that is the read model,
//! written with idempotent upserts because Dapr may run an activity more than once.
//! Each is a plain function of the database and its input (so tests and the in-memory
//! engine run the very same code) plus a thin adapter for Dapr's worker.

use crate::model::order::OrderFacts;
use dapr::workflow::{ActivityContext, ActivityContextExt, RegistryExt, WorkflowError};
use domain::{instance_id_for, OrderId, OrderStatus, Role};
use tracing::Instrument;

use crate::kernel::clock::now_ms;
use crate::kernel::fault::{self, Fault};
use crate::model::workflow::{
    ApprovalRequest, LevelAsk, Outcome, OutcomeRecord, ReminderRequest, WorkflowOrder,
    PLACE_ORDER_ACTIVITY, RECORD_OUTCOME_ACTIVITY, SEND_APPROVAL_REQUEST_ACTIVITY,
    SEND_REMINDER_ACTIVITY, SINGLE_LEVEL,
};
use crate::notify::outbox::{self, Event};
use crate::notify::Notifier;
use crate::store::db::Db;
use crate::store::read_model;

type Output = dapr::workflow::Result<Option<String>>;

pub(super) fn register(registry: &mut dapr::workflow::Registry, db: Db, notify: Notifier) {
    let (d, n) = (db.clone(), notify.clone());
    registry.add_activity(SEND_APPROVAL_REQUEST_ACTIVITY, move |ctx, input| {
        let (db, notify) = (d.clone(), n.clone());
        let span = activity_span(&ctx, SEND_APPROVAL_REQUEST_ACTIVITY);
        async move {
            let request: ApprovalRequest = ctx.get_input(input.as_deref())?;
            tracing::info!(order_id = %request.order.order_id, "approval requested");
            reply(request_approval(&db, &request, &notify).await)
        }
        .instrument(span)
    });
    let (d, n) = (db.clone(), notify.clone());
    registry.add_activity(SEND_REMINDER_ACTIVITY, move |ctx, input| {
        let (db, notify) = (d.clone(), n.clone());
        let span = activity_span(&ctx, SEND_REMINDER_ACTIVITY);
        async move {
            let reminder: ReminderRequest = ctx.get_input(input.as_deref())?;
            tracing::info!(order_id = %reminder.order.order_id, "reminding");
            reply(remind(&db, &reminder, &notify).await)
        }
        .instrument(span)
    });
    let (d, n) = (db.clone(), notify.clone());
    registry.add_activity(PLACE_ORDER_ACTIVITY, move |ctx, input| {
        let span = activity_span(&ctx, PLACE_ORDER_ACTIVITY);
        record_adapter(d.clone(), ctx, input, "placing order", n.clone()).instrument(span)
    });
    registry.add_activity(RECORD_OUTCOME_ACTIVITY, move |ctx, input| {
        let span = activity_span(&ctx, RECORD_OUTCOME_ACTIVITY);
        record_adapter(db.clone(), ctx, input, "recording outcome", notify.clone()).instrument(span)
    });
}

/// Every line an activity logs carries its workflow's instance id.
fn activity_span(ctx: &ActivityContext, name: &'static str) -> tracing::Span {
    tracing::info_span!("activity", activity = name, instance_id = %ctx.orchestration_id())
}

async fn record_adapter(
    db: Db,
    ctx: ActivityContext,
    input: Option<String>,
    what: &str,
    notify: Notifier,
) -> Output {
    let record: OutcomeRecord = ctx.get_input(input.as_deref())?;
    tracing::info!(order_id = %record.order.order_id, outcome = %record.status, "{what}");
    reply(record_outcome(&db, &record, &notify).await)
}

fn reply(result: Result<serde_json::Value, WorkflowError>) -> Output {
    Ok(Some(result?.to_string()))
}

fn facts(order: &WorkflowOrder) -> Result<OrderFacts, WorkflowError> {
    let order_id = OrderId::parse(&order.order_id).map_err(WorkflowError::Other)?;
    Ok(OrderFacts {
        instance_id: instance_id_for(&order_id),
        order_id: order.order_id.clone(),
        product: order.product.clone(),
        quantity: order.quantity,
        unit_cost: order.unit_cost(),
        requested_by: order.requested_by.clone(),
    })
}

fn db_error(e: sqlx::Error) -> WorkflowError {
    tracing::warn!(error = %e, "activity could not write the read model");
    WorkflowError::Other(format!("read model: {e}"))
}

/// Asks for approval (at a level, for an order with levels): publishes the request in
/// the read model, which feeds the inbox, and with e-mail on, e-mails each person who
/// may decide it (the seed's "e.g., email, Slack"), through the outbox.
pub async fn request_approval(
    db: &Db,
    request: &ApprovalRequest,
    notify: &Notifier,
) -> Result<serde_json::Value, WorkflowError> {
    let facts = facts(&request.order)?;
    let written = match &request.level {
        Some(ask) => {
            read_model::mark_awaiting_level(db, &facts, ask, request.deadline_ms, now_ms()).await
        }
        None => read_model::mark_awaiting(db, &facts, request.deadline_ms, now_ms()).await,
    };
    written.map_err(db_error)?;
    let (level, role) = level_and_role(request.level.as_ref());
    let sent = email_deciders(
        db,
        notify,
        &facts.instance_id,
        Event::Request { level, role },
    )
    .await?;
    if fault::fires(Fault::RequestFailsAfterNotifying) {
        return Err(WorkflowError::Other(format!(
            "test fault {} fired",
            Fault::RequestFailsAfterNotifying.as_str()
        )));
    }
    Ok(serde_json::json!({
        "notification_sent": true,
        "for_order_id": request.order.order_id,
        "emails_sent": sent,
    }))
}

/// The level a request or reminder is about, and the role it is asked of; without
/// levels, the seed's single managers' level.
fn level_and_role(level: Option<&LevelAsk>) -> (u32, Role) {
    level.map_or(SINGLE_LEVEL, |l| (l.number, l.role))
}

/// With e-mail on: e-mails to those who may decide the order for `event` (a request or
/// a reminder), added to the outbox and sent now; how many went.
async fn email_deciders(
    db: &Db,
    notify: &Notifier,
    instance_id: &str,
    event: Event,
) -> Result<u32, WorkflowError> {
    if !notify.channels.email {
        return Ok(0);
    }
    outbox::add_deciders(db, instance_id, event, now_ms())
        .await
        .map_err(db_error)?;
    notify_now(notify, instance_id, event).await
}

/// Delivers what the outbox holds for `event` of the order now; returns how many went.
async fn notify_now(
    notify: &Notifier,
    instance_id: &str,
    event: Event,
) -> Result<u32, WorkflowError> {
    let delivered = notify.deliver(instance_id, event).await.map_err(db_error)?;
    tracing::info!(
        event = %event.key(), sent = delivered.sent, not_sent = delivered.not_sent,
        "notifications delivered by the activity"
    );
    Ok(delivered.sent)
}

/// The deadline of a level nears: the timeline says so, and with e-mail on, those who
/// may decide it are reminded.
pub async fn remind(
    db: &Db,
    reminder: &ReminderRequest,
    notify: &Notifier,
) -> Result<serde_json::Value, WorkflowError> {
    let facts = facts(&reminder.order)?;
    let (level, role) = level_and_role(reminder.level.as_ref());
    let of = reminder.level.as_ref().map_or(1, |l| l.of);
    let due = crate::kernel::clock::from_ms(reminder.deadline_ms).format("%Y-%m-%d %H:%M:%S UTC");
    let label = format!(
        "Reminder sent: a {} decides by {due} (level {level} of {of})",
        role.as_str()
    );
    read_model::add_timeline(
        db,
        &facts.instance_id,
        &format!("reminder:{level}:{}", role.as_str()),
        &label,
        now_ms(),
    )
    .await
    .map_err(db_error)?;
    let sent = email_deciders(
        db,
        notify,
        &facts.instance_id,
        Event::Reminder { level, role },
    )
    .await?;
    Ok(serde_json::json!({
        "reminded": true,
        "order_id": reminder.order.order_id,
        "emails_sent": sent,
    }))
}

/// Records an outcome; for approvals this is where the order is placed.
pub async fn record_outcome(
    db: &Db,
    record: &OutcomeRecord,
    notify: &Notifier,
) -> Result<serde_json::Value, WorkflowError> {
    let outcome = Outcome::parse(&record.status)
        .ok_or_else(|| WorkflowError::Other(format!("unknown outcome {:?}", record.status)))?;
    let facts = facts(&record.order)?;
    read_model::record_outcome(
        db,
        &facts,
        outcome.order_status(),
        outcome.decided_by(),
        record.decided_at_ms,
        now_ms(),
    )
    .await
    .map_err(db_error)?;
    let channels = notify.channels;
    let mut sent = 0;
    if channels.any() {
        let id = &facts.instance_id;
        outbox::add_outcome(db, id, channels.email, channels.webhook, now_ms())
            .await
            .map_err(db_error)?;
        sent = notify_now(notify, id, Event::Outcome).await?;
    }
    let placed = outcome.order_status() == OrderStatus::Approved;
    Ok(serde_json::json!({
        "order_placed": placed,
        "order_id": record.order.order_id,
        "notifications_sent": sent,
    }))
}
