//! One order in full for one reader: the order, its timeline assembled from the read
//! model (levels asked and approved, reminders and escalations, the outcome, operators'
//! actions), and what the reader may do with it. The order's page and
//! `GET /api/orders/{instance_id}` both show this, so neither restates it.

use domain::{OrderDetail, OrderStatus, Role, TimelineEntry};

use super::OrderService;
use crate::kernel::clock::from_ms;
use crate::kernel::error::ServiceError;
use crate::model::history::OperatorAction;
use crate::model::order::OrderRow;
use crate::model::order::{LevelAt, Via};
use crate::model::people::User;
use crate::notify::recipients::holding;
use crate::rules::policy;
use crate::services::accounts;
use crate::services::delegation;
use crate::store::{comments, read_model};

impl OrderService {
    /// Everyone `row`'s level may be assigned to: whoever may decide it now, as
    /// themselves or for someone whose decisions they hold (the policy's rule, with
    /// the delegations grouped as the e-mail recipients' are).
    async fn assignable(&self, row: &OrderRow, now: i64) -> Result<Vec<String>, ServiceError> {
        let held = crate::store::recipients::held(&self.db, now).await?;
        let mut names: Vec<String> = accounts::list_users(&self.db)
            .await?
            .into_iter()
            .map(|account| account.user)
            .filter(|user| {
                user.decides_orders()
                    && policy::deciding_as(user, row, None, &holding(&held, &user.name)).is_ok()
            })
            .map(|user| user.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// The order with its timeline, if `user` may see it (otherwise "no such order").
    /// `can_decide` follows the same rule as a decision does: as themselves, or for
    /// someone whose decisions they hold now.
    pub async fn detail(
        &self,
        user: &User,
        instance_id: &str,
    ) -> Result<OrderDetail, ServiceError> {
        let row = self.order_for(user, instance_id).await?;
        let now = self.now_ms();
        let waiting = row.status == OrderStatus::AwaitingApproval;
        // Whose decisions the reader holds, read once for every rule below; only those
        // who decide orders hold anyone's.
        let delegators = if user.decides_orders() {
            delegation::delegators(&self.db, &user.name, now).await?
        } else {
            Vec::new()
        };
        let can_decide = waiting
            && user.decides_orders()
            && policy::deciding_as(user, &row, None, &delegators).is_ok();
        let can_cancel = waiting && policy::may_cancel(user, &row).is_ok();
        let can_assign = waiting
            && row.decision.is_none()
            && policy::may_assign(user, &delegators, &row, None).is_ok();
        let can_discuss = policy::may_discuss(user, &delegators, &row).is_ok();
        let assignable = if can_assign {
            self.assignable(&row, now).await?
        } else {
            Vec::new()
        };

        let mut timeline = vec![TimelineEntry {
            label: "Submitted".into(),
            at: from_ms(row.created_at),
        }];
        // " of 3", where the row knows how many levels there are.
        let of = match row.level_at() {
            Ok(LevelAt::Of { of, .. }) => format!(" of {of}"),
            _ => String::new(),
        };
        let requested = |level: i64, role: Role| {
            format!(
                "Approval requested from a {} (level {level}{of})",
                role.as_str()
            )
        };
        for approval in read_model::level_approvals(&self.db, &row.instance_id).await? {
            if let (Some(role), Some(at)) = (approval.role, approval.requested_at) {
                timeline.push(TimelineEntry {
                    label: requested(approval.level, role),
                    at: from_ms(at),
                });
            }
            let comment = approval
                .comment
                .map(|c| format!(": “{c}”"))
                .unwrap_or_default();
            timeline.push(TimelineEntry {
                label: format!(
                    "Level {}{of} approved by {}{}{comment}",
                    approval.level,
                    approval.approved_by,
                    Via::label_suffix(approval.via)
                ),
                at: from_ms(approval.approved_at),
            });
        }
        if let Some(at) = row.approval_requested_at {
            let label = match row.level_at() {
                Ok(LevelAt::Of { number, role, .. }) => requested(i64::from(number), role),
                _ => "Approval requested".into(),
            };
            timeline.push(TimelineEntry {
                label,
                at: from_ms(at),
            });
        }
        // The thread, for those who take part in it: in the timeline, which the order's
        // page follows live.
        if can_discuss {
            let requester = row.requested_by.as_deref().unwrap_or("the requester");
            for c in comments::list(&self.db, &row.instance_id).await? {
                let label = if c.question {
                    format!("{} asked {requester}: “{}”", c.author, c.text)
                } else {
                    format!("{}: “{}”", c.author, c.text)
                };
                timeline.push(TimelineEntry {
                    label,
                    at: from_ms(c.at),
                });
            }
        }
        let events = read_model::timeline(&self.db, &row.instance_id).await?;
        timeline.extend(events.into_iter().map(|e| TimelineEntry {
            label: e.label,
            at: from_ms(e.at),
        }));
        let order = row.view();
        if let (true, Some(at)) = (order.status.is_final(), row.decided_at) {
            // A person's decision says where it was made; a timeout or an auto-approval
            // was made nowhere.
            let via = match order.status {
                OrderStatus::Approved | OrderStatus::Rejected => row.decided_via,
                _ => None,
            };
            timeline.push(TimelineEntry {
                label: format!("{}{}", order.status_label(), Via::label_suffix(via)),
                at: from_ms(at),
            });
        }
        if let Some(at) = row.placed_at {
            timeline.push(TimelineEntry {
                label: "Order placed".into(),
                at: from_ms(at),
            });
        }
        for action in read_model::operator_actions(&self.db, &row.instance_id).await? {
            let what = match action.action {
                OperatorAction::Terminate => "Terminated",
                OperatorAction::Redrive => "Redriven",
            };
            let why = action.reason.map(|r| format!(": {r}")).unwrap_or_default();
            timeline.push(TimelineEntry {
                label: format!("{what} by {}{why}", action.actor),
                at: from_ms(action.at),
            });
        }
        timeline.sort_by_key(|entry| entry.at);
        Ok(OrderDetail {
            can_assign,
            assignable,
            can_discuss,
            question_since: row.question_since.filter(|_| waiting).map(from_ms),
            attention: policy::attention_reason(user, &row),
            can_decide,
            can_cancel,
            order,
            timeline,
            server_now_ms: now,
        })
    }
}
