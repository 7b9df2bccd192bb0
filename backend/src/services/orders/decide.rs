//! Deciding an order exactly once: the claim in the read model, the event into the
//! workflow, the audit row, and the wait for the workflow to confirm what happened.

use std::time::Duration;

use domain::{
    hidden_characters, is_instance_id, Decision, OrderStatus, ValidationErrors, MAX_USERNAME_LEN,
};

use super::{Decided, OrderService, MAX_COMMENT_LEN};
use crate::kernel::engine_error::FailureKind;
use crate::kernel::error::ServiceError;
use crate::model::order::{LevelAt, OrderRow, Via};
use crate::model::people::User;
use crate::model::workflow::Approval;
use crate::rules::policy;
use crate::services::delegation;
use crate::store::{audit, read_model};

/// How long a decision on a just-submitted order waits for the workflow to ask for it.
const AWAIT_REQUEST_WAIT: Duration = Duration::from_secs(5);
/// How long a decision waits for the workflow to confirm it before answering "accepted,
/// still processing".
const CONFIRM_WAIT: Duration = Duration::from_secs(5);
/// One decision as a caller asks for it.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    pub decision: Decision,
    /// An optional note kept with the decision.
    pub comment: Option<&'a str>,
    /// The seed's `approver_name`: accepted when it names the caller, refused otherwise.
    pub approver_name: Option<&'a str>,
    /// Where it is made: the audit trail and the timeline say so.
    pub via: Via,
}

impl<'a> DecisionRequest<'a> {
    /// Sizes are checked before anything is written anywhere. Returns the comment as
    /// it will be kept (trimmed; none when empty).
    pub(super) fn validate(&self) -> Result<Option<&'a str>, ServiceError> {
        let mut errors = ValidationErrors::default();
        let comment = checked_comment(self.comment, &mut errors);
        if self
            .approver_name
            .is_some_and(|n| n.trim().chars().count() > MAX_USERNAME_LEN)
        {
            errors.push(
                "approver_name",
                format!("A username has at most {MAX_USERNAME_LEN} characters."),
            );
        }
        if errors.0.is_empty() {
            Ok(comment)
        } else {
            Err(errors.into())
        }
    }
}

/// A comment as it will be kept (trimmed; none when empty), or what is wrong with it
/// in `errors`: the same rules for a decision's comment, an assignment's and the
/// order's thread (`field` names it).
pub(super) fn checked_text<'a>(
    field: &str,
    comment: Option<&'a str>,
    errors: &mut ValidationErrors,
) -> Option<&'a str> {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_LEN) {
        errors.push(
            field,
            format!("Use at most {MAX_COMMENT_LEN} characters for the {field}."),
        );
    } else if let Some(why) = comment.and_then(|c| hidden_characters(c, field)) {
        errors.push(field, why);
    }
    comment
}

/// [`checked_text`] for a field named `comment`.
pub(super) fn checked_comment<'a>(
    comment: Option<&'a str>,
    errors: &mut ValidationErrors,
) -> Option<&'a str> {
    checked_text("comment", comment, errors)
}

/// A decision taken (its claim holds) that the workflow has not confirmed yet: 202.
fn unconfirmed(instance_id: &str, approver: &str) -> Decided {
    Decided {
        instance_id: instance_id.to_owned(),
        // Not "taken": the event may not have reached the workflow, and if it reaches it
        // only after the deadline (daprd or placement held up), the timeout wins.
        message: format!(
            "Decision by {approver} recorded and sent; the workflow has not confirmed it yet. \
             It counts if it reaches the workflow before the deadline; check the order's status."
        ),
        status: OrderStatus::AwaitingApproval,
        decided_by: approver.to_owned(),
        confirmed: false,
    }
}

pub(super) fn conflict_for(row: &OrderRow) -> ServiceError {
    let status = row.status;
    let message = match status {
        OrderStatus::AwaitingApproval => match &row.decided_by {
            Some(by) if row.decision == Some(Decision::Cancel) => {
                format!("Order {} has already been cancelled by {by}.", row.order_id)
            }
            Some(by) => format!("Order {} has already been decided by {by}.", row.order_id),
            None => format!(
                "Order {} is past its approval deadline and is being cancelled.",
                row.order_id
            ),
        },
        OrderStatus::Submitted => format!(
            "Order {} is still being set up; try again in a moment.",
            row.order_id
        ),
        _ => format!(
            "Order {} is not awaiting approval: {}.",
            row.order_id,
            status.label(row.decided_by.as_deref())
        ),
    };
    ServiceError::Conflict {
        message,
        status: Some(status),
        decided_by: row.decided_by.clone(),
    }
}

impl OrderService {
    /// Applies one decision (a manager's approval or rejection, or the requester's
    /// cancellation), and records the attempt (accepted or refused, and why) in the
    /// audit trail.
    ///
    /// The decision runs as a task of its own: a client that goes away mid-way (a
    /// closed tab, a proxy timeout) does not cut it off between its claim, its event,
    /// its audit row and its confirmation.
    pub async fn decide(
        &self,
        instance_id: &str,
        decider: &User,
        request: DecisionRequest<'_>,
    ) -> Result<Decided, ServiceError> {
        let service = self.clone();
        let (instance_id, decider) = (instance_id.to_owned(), decider.clone());
        let decision = request.decision;
        let comment = request.comment.map(str::to_owned);
        let approver_name = request.approver_name.map(str::to_owned);
        let via = request.via;
        tokio::spawn(async move {
            let request = DecisionRequest {
                decision,
                comment: comment.as_deref(),
                approver_name: approver_name.as_deref(),
                via,
            };
            service.decide_here(&instance_id, &decider, request).await
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("decision task: {e}")))?
    }

    #[tracing::instrument(name = "decide", skip_all, fields(%instance_id, by = %decider.name))]
    async fn decide_here(
        &self,
        instance_id: &str,
        decider: &User,
        request: DecisionRequest<'_>,
    ) -> Result<Decided, ServiceError> {
        let began = tokio::time::Instant::now();
        let result = self.try_decide(instance_id, decider, &request).await;
        crate::kernel::metrics::decision(&result.as_ref().map(|_| ()), began.elapsed());
        // An id that cannot name an order is no attempt on one: nothing to keep (and
        // nothing of unbounded size reaches the table).
        if is_instance_id(instance_id) {
            let refusal = result.as_ref().err().map(|e| {
                if e.is_internal() {
                    "internal error".to_owned()
                } else {
                    e.to_string()
                }
            });
            self.audit(instance_id, &decider.name, &request, refusal.as_deref())
                .await;
        }
        result
    }

    /// Records a decision attempt. A failure to write it is logged, never the caller's
    /// problem: the decision itself stands or falls on its own.
    async fn audit(
        &self,
        instance_id: &str,
        actor: &str,
        request: &DecisionRequest<'_>,
        refusal: Option<&str>,
    ) {
        if let Err(e) = audit::record(
            &self.db,
            instance_id,
            actor,
            request.decision,
            refusal,
            request.via,
            self.now_ms(),
        )
        .await
        {
            tracing::error!(%instance_id, error = %e, "writing the decision audit");
        }
    }

    /// Check the request, claim the decision in the read model (exactly one claim can
    /// win), raise the event, then wait briefly for the workflow to confirm.
    async fn try_decide(
        &self,
        instance_id: &str,
        decider: &User,
        request: &DecisionRequest<'_>,
    ) -> Result<Decided, ServiceError> {
        let decision = request.decision;
        let comment = request.validate()?;
        let mut row = self.order_for(decider, instance_id).await?;
        self.acting(decider, &row, request).await?;
        let waiting_since = tokio::time::Instant::now();
        while row.status == OrderStatus::Submitted && waiting_since.elapsed() < AWAIT_REQUEST_WAIT {
            tokio::time::sleep(Duration::from_millis(50)).await;
            row = self.get_row(instance_id).await?;
        }
        if row.status != OrderStatus::AwaitingApproval || row.decision.is_some() {
            return Err(conflict_for(&row));
        }
        // The level it waits at now is the one claimed: asked again for it.
        let approver = self.acting(decider, &row, request).await?;
        let claimed = read_model::claim_decision(
            &self.db,
            instance_id,
            row.level,
            row.level_role,
            decision,
            &approver,
            comment,
            request.via,
            self.now_ms(),
        )
        .await?;
        if !claimed {
            return Err(conflict_for(&self.get_row(instance_id).await?));
        }

        let event = Approval::new(&approver, decision, row.level_number(), row.level_role);
        if let Err(e) = self.engine.raise_approval(instance_id, &event).await {
            if !e.certainly_not_applied() {
                // The event may have arrived: the claim stands (nobody else can decide
                // in between), and the reconciler confirms it or raises it again — the
                // workflow takes the first event only, so that is harmless.
                tracing::warn!(%instance_id, error = %e, "decision sent, not confirmed");
                self.keep_raising(instance_id, event, row.deadline);
                return Ok(unconfirmed(instance_id, &approver));
            }
            // The event certainly never reached the workflow: give the claim back so
            // the order can still be decided.
            read_model::release_claim(&self.db, instance_id, &approver).await?;
            return Err(match e.kind {
                FailureKind::NotFound => ServiceError::Internal(format!(
                    "the read model has order {instance_id}, the workflow engine does not"
                )),
                _ => ServiceError::from_engine("raising approval event", e),
            });
        }
        match (decision, row.level) {
            (Decision::Approve, Some(level)) if !row.at_last_level() => {
                self.confirm_level(instance_id, &approver, level).await
            }
            _ => self.confirm(instance_id, &approver, decision).await,
        }
    }

    /// A decision whose raise got no answer may not have reached the workflow: it is
    /// raised again, a growing pause apart, until daprd takes it, the order moves on,
    /// or its deadline passes (then the timer decides). Without this only the
    /// reconciler raised it again, once its claim was 10 s old and at its next pass:
    /// behind a daprd held up for seconds (placement disseminating during a rolling
    /// restart), such a decision could lose to a deadline it was made well before. The workflow takes the first event only, so raising it twice is harmless.
    fn keep_raising(&self, instance_id: &str, event: Approval, deadline: Option<i64>) {
        let service = self.clone();
        let instance_id = instance_id.to_owned();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(250);
            loop {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(4));
                let Ok(row) = service.get_row(&instance_id).await else {
                    return;
                };
                let still_ours = row.status == OrderStatus::AwaitingApproval
                    && row.decided_by.as_deref() == Some(event.approver_name.as_str())
                    && (event.cancelled || row.level_number() == event.level);
                if !still_ours || deadline.is_some_and(|d| d <= service.now_ms()) {
                    return;
                }
                match service.engine.raise_approval(&instance_id, &event).await {
                    Ok(()) => {
                        tracing::info!(%instance_id, "unconfirmed decision raised again, and taken");
                        return;
                    }
                    Err(e) => tracing::debug!(%instance_id, error = %e, "raising again"),
                }
            }
        });
    }

    /// Who `decider` takes `request` on `row` as: themselves, or for someone whose
    /// decisions they hold now ("carol for dora"), asked only when their own role or
    /// history does not let them decide. Why not, if neither.
    pub(super) async fn acting(
        &self,
        decider: &User,
        row: &OrderRow,
        request: &DecisionRequest<'_>,
    ) -> Result<String, ServiceError> {
        if request.decision == Decision::Cancel {
            policy::may_cancel(decider, row)?;
            return Ok(decider.name.clone());
        }
        let delegators = match policy::may_decide(decider, row, request.approver_name) {
            Ok(()) => Vec::new(),
            Err(_) => delegation::delegators(&self.db, &decider.name, self.now_ms()).await?,
        };
        policy::deciding_as(decider, row, request.approver_name, &delegators)
            .map(|actor| actor.to_string())
    }

    /// An approval of a level before the last: confirmed once the workflow asks the
    /// next level (or ends otherwise: its deadline can still win by a hair).
    async fn confirm_level(
        &self,
        instance_id: &str,
        approver: &str,
        level: i64,
    ) -> Result<Decided, ServiceError> {
        let give_up = tokio::time::Instant::now() + CONFIRM_WAIT;
        loop {
            let row = self.get_row(instance_id).await?;
            if row.status.is_final() {
                return Err(conflict_for(&row));
            }
            if row.level.is_some_and(|now| now > level) {
                // The next level is written whole (number, count, role); should the row
                // say otherwise, say less rather than name a level nobody asked.
                let next = match row.level_at() {
                    Ok(LevelAt::Of { number, of, role }) => {
                        format!("a {} (level {number} of {of})", role.as_str())
                    }
                    _ => "the next level".to_owned(),
                };
                return Ok(Decided {
                    instance_id: instance_id.to_owned(),
                    message: format!(
                        "Order {}: level {level} approved by {approver}; it now waits for {next}.",
                        row.order_id,
                    ),
                    status: OrderStatus::AwaitingApproval,
                    decided_by: approver.to_owned(),
                    confirmed: true,
                });
            }
            if tokio::time::Instant::now() >= give_up {
                return Ok(unconfirmed(instance_id, approver));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The workflow's outcome is the truth: the timer can still win by a hair.
    async fn confirm(
        &self,
        instance_id: &str,
        approver: &str,
        decision: Decision,
    ) -> Result<Decided, ServiceError> {
        let waited = self
            .engine
            .wait_for_completion(instance_id, CONFIRM_WAIT)
            .await;
        let state = match waited {
            Ok(state) => state,
            Err(e) if e.is_retryable() => return Ok(unconfirmed(instance_id, approver)),
            Err(e) => return Err(ServiceError::from_engine("confirming decision", e)),
        };
        self.apply_state(&state).await?;
        let row = self.get_row(instance_id).await?;
        let expected = decision.outcome();
        if row.status == expected && row.last_decider() == Some(approver) {
            Ok(Decided {
                instance_id: instance_id.to_owned(),
                message: format!("Order {}: {}.", row.order_id, row.view().status_label()),
                status: expected,
                decided_by: approver.to_owned(),
                confirmed: true,
            })
        } else {
            Err(conflict_for(&row))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use domain::{NewOrder, Role, StartOrderRequest};

    use super::*;
    use crate::kernel::clock::{now_ms, Clock, ManualClock};
    use crate::services::accounts;
    use crate::workflow::engine::memory::MemoryEngine;

    /// The claim reads the time from the service's clock: a decision that arrives after
    /// the order's deadline by that clock is refused as past it, with no timer to wait
    /// for; the same decision a moment before the deadline is taken.
    #[tokio::test]
    async fn the_deadline_is_kept_by_the_services_clock() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        let timeout = Duration::from_secs(3_600);
        let clock = ManualClock::at(now_ms());
        let orders =
            OrderService::new(db.clone(), Arc::new(MemoryEngine::new(db.clone())), timeout)
                .with_clock(Arc::new(clock.clone()));
        let alice = accounts::add_user(&db, "alice", Role::Requester, "a-long-password", None)
            .await
            .expect("alice");
        let bob = accounts::add_user(&db, "bob", Role::Manager, "a-long-password", None)
            .await
            .expect("bob");
        let mut waiting = Vec::new();
        for id in ["late", "in-time"] {
            let order = NewOrder::parse(&StartOrderRequest {
                order_id: id.into(),
                cost: 2_000.0,
                product: "Desk".into(),
                quantity: 1,
            })
            .expect("a valid order");
            let started = orders.start(order, &alice).await.expect("starts");
            let give_up = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let row = read_model::get(&db, &started.instance_id)
                    .await
                    .expect("reads")
                    .expect("a row");
                if row.status == OrderStatus::AwaitingApproval {
                    waiting.push(row);
                    break;
                }
                assert!(std::time::Instant::now() < give_up, "{id} never waited");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let approve = DecisionRequest {
            decision: Decision::Approve,
            comment: None,
            approver_name: None,
            via: Via::App,
        };
        let deadline = waiting[0].deadline.expect("a deadline");
        clock.advance(deadline - clock.now_ms() - 1);
        orders
            .decide(&waiting[1].instance_id, &bob, approve)
            .await
            .expect("a millisecond before the deadline, the decision is taken");
        clock.advance(2);
        let refused = orders
            .decide(&waiting[0].instance_id, &bob, approve)
            .await
            .expect_err("past the deadline");
        assert!(
            refused.to_string().contains("past its approval deadline"),
            "{refused}"
        );
    }
}
