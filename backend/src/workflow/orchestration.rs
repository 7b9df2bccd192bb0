//! The orchestration, with the seed's semantics: under $1000 the order is approved at
//! once; otherwise a manager is asked, and the first of their decision, the requester's
//! cancellation and the approval timeout decides. An order started under an approval
//! policy carries its levels in its input and is asked level after level: a rejection,
//! cancellation or timeout at any level ends it, the last approval places it.
//!
//! It is deterministic: time only from the workflow context, no I/O (that is what the
//! activities are for), logging only when not replaying.
//!
//! Instances wait for days, so a deploy always meets some in flight: a change to the
//! steps is a patch ([`PATCHES`]), never an edit in place, and every recorded history
//! in `backend/histories` must still replay (ARCHITECTURE.md, "Changing the
//! orchestration").

use std::time::Duration;

use domain::Role;

use crate::model::workflow::{
    Approval, ApprovalRequest, Level, LevelAsk, Outcome, OutcomeRecord, ReminderRequest, ResumeAt,
    WaitingAt, WorkflowOrder, WorkflowOutput, APPROVAL_EVENT, PLACE_ORDER_ACTIVITY,
    RECORD_OUTCOME_ACTIVITY, SEND_APPROVAL_REQUEST_ACTIVITY, SEND_REMINDER_ACTIVITY,
};
use dapr::workflow::{
    ActivityOptions, OrchestrationContext, RetryPolicy, WorkflowContext, WorkflowContextExt,
    WorkflowError,
};

type Output = dapr::workflow::Result<Option<String>>;

/// A workflow created again for an order the read model held waiting (a backup restored
/// into an empty Dapr state, `server restore --workflows-lost`) takes the order up where
/// it waited: at its level, asked of the same role, with the deadline it had.
pub const RESUMES_WHERE_IT_WAITED: &str = "restored-orders-resume-where-they-waited";

/// Every patch the orchestration takes, oldest first; each new one is added at the end
/// and records a new set of histories (scripts/record-histories.sh).
pub const PATCHES: [&str; 1] = [RESUMES_WHERE_IT_WAITED];

/// How long the activities keep trying to write the read model (locked, restarting,
/// out of disk) before the workflow goes on without them: long enough for realistic
/// outages, with the pause between attempts capped at a minute.
const ACTIVITY_RETRY_FOR: Duration = Duration::from_secs(15 * 60);

fn activity_options<T: serde::Serialize>(input: T) -> dapr::workflow::Result<ActivityOptions> {
    // 1 s, 2 s, 4 s … 60 s, 60 s …: about 14 minutes over 20 attempts.
    let retry = RetryPolicy::new(20, Duration::from_secs(1))
        .with_backoff_coefficient(2.0)
        .with_max_retry_interval(Duration::from_secs(60))
        .with_retry_timeout(ACTIVITY_RETRY_FOR);
    Ok(ActivityOptions::new()
        .try_with_input(input)?
        .with_retry_policy(retry))
}

/// Runs a read-model activity. When it still fails after all its retries, the workflow
/// goes on: its own state holds the truth (the decision, the deadline), and the
/// reconciler repairs the read model from it. Failing the workflow here would lose a
/// decided outcome to an outage of the read model.
async fn write_read_model(ctx: &OrchestrationContext, activity: &str, options: ActivityOptions) {
    let done: dapr::workflow::Result<serde_json::Value> = ctx
        .call_activity_with_options_typed(activity, options)
        .await;
    if let Err(e) = done {
        if !ctx.is_replaying() {
            tracing::error!(instance_id = %ctx.instance_id(), activity, error = %e,
                "read model not written after every retry; the reconciler will repair it");
        }
    }
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
    // Patches are asked first thing, so that an instance takes each for its whole life
    // or not at all: one started before it finishes on the old steps. This one only
    // where its branch can be taken (a resume in the input): other instances record no
    // patch, and their histories stay those of the orchestration before it.
    let resumes = order.resume.is_some() && ctx.is_patched(RESUMES_WHERE_IT_WAITED);
    if !ctx.is_replaying() {
        tracing::info!(instance_id = %ctx.instance_id(), order_id = %order.order_id,
            "starting purchase order workflow");
    }
    let levels = order.levels();
    if levels.is_empty() {
        return finish(&ctx, &order, Outcome::AutoApproved);
    }
    let of = u32::try_from(levels.len()).unwrap_or(u32::MAX);
    let resume = order.resume.as_ref().filter(|_| resumes);
    let mut approved_by: Vec<String> = resume.map_or_else(Vec::new, |r| r.approved_by.clone());
    for (number, level) in (1..).zip(&levels) {
        // Levels passed before it was created again.
        if resume.is_some_and(|r| number < r.level) {
            continue;
        }
        let resumed = resume.filter(|r| r.level == number);
        // Orders without levels of their own keep the seed's request, word for word.
        let ask = order.levels.is_some().then(|| LevelAsk {
            number,
            of,
            role: resumed.map_or(level.role, |r| r.role),
            approved_by: approved_by.clone(),
            escalated: resumed.is_some_and(|r| r.escalated),
        });
        match ask_level(&ctx, &order, ask, level, resumed).await? {
            Outcome::Approved(by) => approved_by.push(by),
            outcome => return conclude(&ctx, &order, outcome).await,
        }
    }
    conclude(&ctx, &order, Outcome::approved_by(&approved_by)).await
}

/// Asks one level and waits for the first of its decision, a cancellation and its
/// deadline, reminding those who may decide on the way if the level has a reminder. A
/// managers' level that escalates is asked of a director when its deadline passes, with
/// a fresh deadline. An event for another level or role (a decision raised again after
/// its level was passed or escalated) is dropped. A level `resumed` is asked of the role
/// it was, until the deadline it had.
async fn ask_level(
    ctx: &OrchestrationContext,
    order: &WorkflowOrder,
    mut ask: Option<LevelAsk>,
    level: &Level,
    resumed: Option<&ResumeAt>,
) -> dapr::workflow::Result<Outcome> {
    let number = ask.as_ref().map_or(1, |a| a.number);
    let mut role = resumed.map_or(level.role, |r| r.role);
    let mut kept_deadline =
        resumed.and_then(|r| chrono::DateTime::from_timestamp_millis(r.deadline_ms));
    loop {
        let deadline = kept_deadline.take().unwrap_or_else(|| {
            ctx.current_utc_datetime()
                + chrono::Duration::from_std(level.timeout()).unwrap_or(chrono::Duration::MAX)
        });
        if let Some(level) = &ask {
            let waiting = WaitingAt {
                level: level.clone(),
                deadline_ms: deadline.timestamp_millis(),
            };
            ctx.set_custom_status(serde_json::to_string(&waiting)?);
        }
        let request = ApprovalRequest {
            order: order.clone(),
            deadline_ms: deadline.timestamp_millis(),
            level: ask.clone(),
        };
        write_read_model(
            ctx,
            SEND_APPROVAL_REQUEST_ACTIVITY,
            activity_options(request)?,
        )
        .await;
        let remind_at = level
            .remind_before_ms
            .and_then(|before| chrono::Duration::try_milliseconds(before as i64))
            .map(|before| deadline - before)
            .filter(|at| *at > ctx.current_utc_datetime());
        let waited = wait_at_level(ctx, order, &ask, (number, role), deadline, remind_at).await?;
        match waited {
            Some(outcome) => return Ok(outcome),
            None if level.escalate && role == Role::Manager => {
                role = Role::Director;
                if let Some(ask) = ask.as_mut() {
                    ask.role = role;
                    ask.escalated = true;
                }
                if !ctx.is_replaying() {
                    tracing::info!(instance_id = %ctx.instance_id(), level = number,
                        "nobody decided in time: escalated to a director");
                }
            }
            None => return Ok(Outcome::TimedOut),
        }
    }
}

/// Waits for the decision of level `number` asked of `role` until `deadline` (`None`:
/// it passed), sending the reminder at `remind_at` on the way.
async fn wait_at_level(
    ctx: &OrchestrationContext,
    order: &WorkflowOrder,
    ask: &Option<LevelAsk>,
    (number, role): (u32, Role),
    deadline: chrono::DateTime<chrono::Utc>,
    mut remind_at: Option<chrono::DateTime<chrono::Utc>>,
) -> dapr::workflow::Result<Option<Outcome>> {
    loop {
        // The timer fires at the deadline the read model shows, however long the
        // activity took.
        let until = remind_at.unwrap_or(deadline);
        let remaining = (until - ctx.current_utc_datetime())
            .to_std()
            .unwrap_or(Duration::ZERO);
        if !ctx.is_replaying() {
            tracing::info!(instance_id = %ctx.instance_id(), level = number, ?remaining,
                "waiting for approval");
        }
        match ctx
            .wait_for_external_event_typed::<Approval>(APPROVAL_EVENT, Some(remaining))
            .await
        {
            Ok(event) if event.is_for(number, role) => return Ok(Some(event.outcome())),
            Ok(event) => {
                if !ctx.is_replaying() {
                    tracing::info!(instance_id = %ctx.instance_id(), level = number,
                        event_level = ?event.level, event_role = ?event.role,
                        "dropped a decision for another level");
                }
            }
            Err(WorkflowError::Timeout) if remind_at.take().is_some() => {
                let reminder = ReminderRequest {
                    order: order.clone(),
                    level: ask.clone(),
                    deadline_ms: deadline.timestamp_millis(),
                };
                write_read_model(ctx, SEND_REMINDER_ACTIVITY, activity_options(reminder)?).await;
            }
            Err(WorkflowError::Timeout) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// Records the outcome (placing the order if it was approved) and ends the workflow.
async fn conclude(ctx: &OrchestrationContext, order: &WorkflowOrder, outcome: Outcome) -> Output {
    let activity = match outcome {
        Outcome::Approved(_) => PLACE_ORDER_ACTIVITY,
        _ => RECORD_OUTCOME_ACTIVITY,
    };
    let record = OutcomeRecord {
        order: order.clone(),
        status: outcome.status_text(),
        decided_at_ms: ctx.current_utc_datetime().timestamp_millis(),
    };
    write_read_model(ctx, activity, activity_options(record)?).await;
    finish(ctx, order, outcome)
}
