//! `PurchaseOrderApprovalWorkflow` and its activities, with the seed's semantics:
//! under $1000 the order is approved at once; otherwise a manager is asked, and the
//! first of their decision and the approval timeout decides.
//!
//! The orchestration is deterministic (time only from the workflow context, no I/O,
//! logging only when not replaying). Activities write the read model with idempotent
//! upserts, because Dapr may run an activity more than once.

use std::time::Duration;

use app::backend::orders::now_ms;
use app::backend::read_model::{self, Db, OrderFacts};
use app::backend::workflow_types::{
    Approval, ApprovalRequest, Outcome, OutcomeRecord, WorkflowOrder, WorkflowOutput,
    APPROVAL_EVENT, PLACE_ORDER_ACTIVITY, RECORD_OUTCOME_ACTIVITY, SEND_APPROVAL_REQUEST_ACTIVITY,
    WORKFLOW_NAME,
};
use app::domain::{OrderId, APPROVAL_THRESHOLD_CENTS};
use dapr::workflow::{
    ActivityContext, ActivityContextExt, ActivityOptions, OrchestrationContext, RegistryExt,
    RetryPolicy, WorkflowClient, WorkflowContext, WorkflowContextExt, WorkflowError,
};

/// Used when an instance was started without an explicit timeout in its input.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

type Output = dapr::workflow::Result<Option<String>>;

/// Registers the workflow and its activities on the client's worker registry.
pub fn register(client: &mut WorkflowClient, db: Db) {
    let registry = client.registry_mut();
    registry.add_workflow(WORKFLOW_NAME, purchase_order_workflow);
    let d = db.clone();
    registry.add_activity(SEND_APPROVAL_REQUEST_ACTIVITY, move |ctx, input| {
        send_approval_request(d.clone(), ctx, input)
    });
    let d = db.clone();
    registry.add_activity(PLACE_ORDER_ACTIVITY, move |ctx, input| {
        record(d.clone(), ctx, input, "placing order")
    });
    registry.add_activity(RECORD_OUTCOME_ACTIVITY, move |ctx, input| {
        record(db.clone(), ctx, input, "recording outcome")
    });
}

fn activity_options<T: serde::Serialize>(input: T) -> dapr::workflow::Result<ActivityOptions> {
    // The read model may be briefly locked or restarting; a few retries ride that out.
    let retry = RetryPolicy::new(5, Duration::from_millis(500))
        .with_backoff_coefficient(2.0)
        .with_max_retry_interval(Duration::from_secs(10));
    Ok(ActivityOptions::new()
        .try_with_input(input)?
        .with_retry_policy(retry))
}

fn finish(ctx: &OrchestrationContext, order: &WorkflowOrder, outcome: Outcome) -> Output {
    if !ctx.is_replaying() {
        tracing::info!(
            instance_id = %ctx.instance_id(),
            order_id = %order.order_id,
            outcome = %outcome.status_text(),
            "purchase order workflow finished"
        );
    }
    let output = WorkflowOutput {
        status: outcome.status_text(),
        order_id: order.order_id.clone(),
    };
    Ok(Some(serde_json::to_string(&output)?))
}

pub async fn purchase_order_workflow(ctx: WorkflowContext) -> Output {
    let order: WorkflowOrder = ctx.get_input_typed()?;
    if !ctx.is_replaying() {
        tracing::info!(instance_id = %ctx.instance_id(), order_id = %order.order_id,
            "starting purchase order workflow");
    }
    if order.total_cents() < APPROVAL_THRESHOLD_CENTS {
        return finish(&ctx, &order, Outcome::AutoApproved);
    }

    let timeout = order
        .approval_timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_APPROVAL_TIMEOUT);
    let deadline = ctx.current_utc_datetime()
        + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX);
    let request = ApprovalRequest {
        order: order.clone(),
        deadline_ms: deadline.timestamp_millis(),
    };
    let _: serde_json::Value = ctx
        .call_activity_with_options_typed(
            SEND_APPROVAL_REQUEST_ACTIVITY,
            activity_options(request)?,
        )
        .await?;

    // The timer fires at the deadline the read model shows, however long the activity took.
    let remaining = (deadline - ctx.current_utc_datetime())
        .to_std()
        .unwrap_or(Duration::ZERO);
    if !ctx.is_replaying() {
        tracing::info!(instance_id = %ctx.instance_id(), ?remaining, "waiting for approval");
    }
    let outcome = match ctx
        .wait_for_external_event_typed::<Approval>(APPROVAL_EVENT, Some(remaining))
        .await
    {
        Ok(approval) if approval.approved => Outcome::Approved(approval.approver_name),
        Ok(approval) => Outcome::Rejected(approval.approver_name),
        Err(WorkflowError::Timeout) => Outcome::TimedOut,
        Err(e) => return Err(e),
    };
    let activity = match outcome {
        Outcome::Approved(_) => PLACE_ORDER_ACTIVITY,
        _ => RECORD_OUTCOME_ACTIVITY,
    };
    let record = OutcomeRecord {
        order: order.clone(),
        status: outcome.status_text(),
        decided_at_ms: ctx.current_utc_datetime().timestamp_millis(),
    };
    let _: serde_json::Value = ctx
        .call_activity_with_options_typed(activity, activity_options(record)?)
        .await?;
    finish(&ctx, &order, outcome)
}

fn facts(order: &WorkflowOrder) -> dapr::workflow::Result<OrderFacts> {
    let order_id = OrderId::parse(&order.order_id).map_err(WorkflowError::Other)?;
    Ok(OrderFacts {
        instance_id: app::domain::instance_id_for(&order_id),
        order_id: order.order_id.clone(),
        product: order.product.clone(),
        quantity: order.quantity,
        unit_cost_cents: (order.cost * 100.0).round() as i64,
        requested_by: order.requested_by.clone(),
    })
}

fn db_error(e: sqlx::Error) -> WorkflowError {
    tracing::warn!(error = %e, "activity could not write the read model");
    WorkflowError::Other(format!("read model: {e}"))
}

/// Asks for approval. A real deployment would notify managers here; we publish the
/// request in the read model, which feeds the inbox.
async fn send_approval_request(db: Db, ctx: ActivityContext, input: Option<String>) -> Output {
    let request: ApprovalRequest = ctx.get_input(input.as_deref())?;
    tracing::info!(instance_id = %ctx.orchestration_id(), order_id = %request.order.order_id,
        "approval requested");
    read_model::mark_awaiting(&db, &facts(&request.order)?, request.deadline_ms, now_ms())
        .await
        .map_err(db_error)?;
    Ok(Some(
        serde_json::json!({"notification_sent": true, "for_order_id": request.order.order_id})
            .to_string(),
    ))
}

/// Records an outcome; for approvals this is where the order is placed.
async fn record(db: Db, ctx: ActivityContext, input: Option<String>, what: &str) -> Output {
    let record: OutcomeRecord = ctx.get_input(input.as_deref())?;
    let outcome = Outcome::parse(&record.status)
        .ok_or_else(|| WorkflowError::Other(format!("unknown outcome {:?}", record.status)))?;
    tracing::info!(instance_id = %ctx.orchestration_id(), order_id = %record.order.order_id,
        outcome = %record.status, "{what}");
    read_model::record_outcome(
        &db,
        &facts(&record.order)?,
        outcome.order_status(),
        outcome.decided_by(),
        record.decided_at_ms,
        now_ms(),
    )
    .await
    .map_err(db_error)?;
    Ok(Some(
        serde_json::json!({"order_placed": outcome.order_status() == app::domain::OrderStatus::Approved, "order_id": record.order.order_id})
            .to_string(),
    ))
}
