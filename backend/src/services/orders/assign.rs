//! Claiming and (re)assigning a waiting order's level: who holds it, which the inboxes
//! show and filter on. Holding decides nothing: the policy alone says who may decide,
//! and asks the same of whoever assigns and whoever is assigned
//! (`rules::policy::may_assign`). The timeline records each step; the assignee is
//! e-mailed (a mail with the same action links as a request).

use domain::{parse_username, OrderStatus, ValidationErrors};

use super::decide::{checked_comment, conflict_for};
use super::{Assigned, OrderService};
use crate::kernel::error::ServiceError;
use crate::model::order::Assignment;
use crate::model::people::User;
use crate::notify::outbox::{self, Event};
use crate::rules::policy;
use crate::services::{accounts, delegation};
use crate::store::read_model;

impl OrderService {
    /// `user` hands `instance_id`'s level to `to` (themselves: a claim), or back
    /// (`None`), with an optional comment for the timeline.
    pub async fn assign(
        &self,
        user: &User,
        instance_id: &str,
        to: Option<&str>,
        comment: Option<&str>,
    ) -> Result<Assigned, ServiceError> {
        let mut errors = ValidationErrors::default();
        let comment = checked_comment(comment, &mut errors);
        let to = match to.map(str::trim) {
            None => None,
            Some("") => {
                errors.push(
                    "to",
                    "Name the colleague to assign it to, or null to release it.",
                );
                None
            }
            Some(name) => match parse_username(name) {
                Ok(name) => Some(name),
                Err(why) => {
                    errors.push("to", why);
                    None
                }
            },
        };
        if !errors.0.is_empty() {
            return Err(errors.into());
        }
        let to = to.as_deref();
        let row = self.order_for(user, instance_id).await?;
        if row.status != OrderStatus::AwaitingApproval || row.decision.is_some() {
            return Err(conflict_for(&row));
        }
        let now = self.now_ms();
        let colleague = match to {
            Some(name) if name == user.name => Some(user.clone()),
            Some(name) => Some(
                accounts::credentials(&self.db, name)
                    .await?
                    .map(|(colleague, _)| colleague)
                    .ok_or_else(|| {
                        ValidationErrors::one("to", format!("There is no account {name:?}."))
                    })?,
            ),
            None => None,
        };
        let colleague_delegators = match &colleague {
            Some(c) => delegation::delegators(&self.db, &c.name, now).await?,
            None => Vec::new(),
        };
        let user_delegators = delegation::delegators(&self.db, &user.name, now).await?;
        policy::may_assign(
            user,
            &user_delegators,
            &row,
            colleague
                .as_ref()
                .map(|c| (c, colleague_delegators.as_slice())),
        )?;
        let to = colleague.map(|c| c.name);
        let holds = |who: &Option<String>| match who {
            Some(name) => format!("Order {} is held by {name}", row.order_id),
            None => format!("Order {} is held by nobody", row.order_id),
        };
        if row.assignee == to {
            return Ok(Assigned {
                instance_id: row.instance_id.clone(),
                message: format!("{}; nothing changed.", holds(&to)),
                assignee: to,
                changed: false,
            });
        }
        let why = comment.map(|c| format!(": “{c}”")).unwrap_or_default();
        let label = match (&to, &row.assignee) {
            (Some(name), _) if *name == user.name => format!("Claimed by {name}{why}"),
            (Some(name), _) => format!("Assigned to {name} by {}{why}", user.name),
            (None, Some(holder)) if *holder == user.name => format!("Released by {holder}{why}"),
            (None, _) => format!("Unassigned by {}{why}", user.name),
        };
        let assignment = Assignment {
            instance_id: row.instance_id.clone(),
            level: row.level,
            role: row.level_role,
            to: to.clone(),
            label,
            at: now,
        };
        if !read_model::assign(&self.db, &assignment).await? {
            let now = self.get_row(instance_id).await?;
            if now.status != OrderStatus::AwaitingApproval || now.decision.is_some() {
                return Err(conflict_for(&now));
            }
            return Err(ServiceError::Conflict {
                message: format!(
                    "Order {} has moved on (another level, an escalation or its deadline) \
                     since it was read; look at it again.",
                    now.order_id
                ),
                status: Some(now.status),
                decided_by: None,
            });
        }
        if let (Some(name), true) = (&to, self.notify.email) {
            if *name != user.name {
                let (level, role) = row
                    .asked()
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                outbox::add_assignee(
                    &self.db,
                    instance_id,
                    Event::Assigned { level, role },
                    name,
                    now,
                )
                .await?;
            }
        }
        Ok(Assigned {
            instance_id: row.instance_id.clone(),
            message: format!("{}.", holds(&to)),
            assignee: to,
            changed: true,
        })
    }
}
