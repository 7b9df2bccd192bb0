//! Deciding from an e-mail's action link, without signing in. A link is a bearer
//! secret for one recipient, one order and one level (see `notify::sender`): opening it
//! only shows what it would do ([`OrderService::link_offer`]); the confirmation's post
//! decides ([`OrderService::decide_by_link`]) through the same exactly-once path as the
//! inbox, as the link's recipient, recorded as made from the e-mail.
//!
//! Everything a link stands for is checked again at each use, against the order and
//! the account as they are now: the order still waits at that level, asked of that
//! role, undecided; the recipient's account exists and may still decide it (their role,
//! a delegation they decide under, the four-eyes rule). The link is marked used before
//! the decision runs, so of two posts of one link only one decides; a decision that
//! certainly did not happen (the engine refused it, the comment was too long) gives the
//! link back.

use domain::{Decision, OrderStatus, OrderView};

use super::decide::conflict_for;
use super::{Decided, DecisionRequest, OrderService};
use crate::kernel::error::ServiceError;
use crate::kernel::secret::token_hash;
use crate::model::action_link::ActionLinkRow;
use crate::model::order::{OrderRow, Via};
use crate::model::people::User;
use crate::services::accounts;
use crate::store::{action_links, read_model};

/// Longer than any token we make (`al_` and 43 characters); longer is not one of ours.
const LONGEST_TOKEN: usize = 64;

/// Why a link does not decide. Each says what happened in words its recipient can
/// act on; none says more about the order than that.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    /// No such link (mistyped, cut short, tampered with): 404.
    #[error("This link is not known here. It may have been cut short or changed; sign in to see your orders.")]
    Unknown,
    /// 410 from here on.
    #[error("This link has been used already; each link decides once. Sign in to see the order.")]
    Used,
    #[error("This link expired at the order's deadline. Sign in to see the order.")]
    Expired,
    /// The order was decided, cancelled, timed out or moved to another level.
    #[error("This link no longer applies: {0} Sign in to see the order.")]
    MovedOn(String),
    /// The recipient may no longer decide it (the account is gone, its role changed,
    /// the delegation it came under ended).
    #[error("This link no longer applies: {0} Sign in to see the order.")]
    NotYours(String),
}

/// A link refused, or a failure of ours while using it.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Refused(#[from] LinkRefused),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sqlx::Error> for LinkError {
    fn from(e: sqlx::Error) -> Self {
        Self::Service(e.into())
    }
}

/// What a link would do, for its confirmation page.
#[derive(Debug, Clone)]
pub struct LinkOffer {
    pub order: OrderView,
    pub decision: Decision,
    /// Who it decides as.
    pub recipient: String,
}

/// A link's stored row, its order and its recipient, all still standing.
struct Standing {
    link: ActionLinkRow,
    row: OrderRow,
    recipient: User,
}

impl OrderService {
    /// What `token` would decide, if it still may.
    pub async fn link_offer(&self, token: &str) -> Result<LinkOffer, LinkError> {
        let Standing {
            link,
            row,
            recipient,
        } = self.standing(token).await?;
        Ok(LinkOffer {
            order: row.view(),
            decision: link.decision,
            recipient: recipient.name,
        })
    }

    /// Decides with `token`, once.
    pub async fn decide_by_link(
        &self,
        token: &str,
        comment: Option<&str>,
    ) -> Result<Decided, LinkError> {
        let Standing {
            link,
            row,
            recipient,
        } = self.standing(token).await?;
        let request = DecisionRequest {
            decision: link.decision,
            comment,
            approver_name: None,
            via: Via::EmailLink,
        };
        // A comment that is refused is refused before the link is spent.
        request.validate()?;
        let hash = token_hash(token);
        let used_at = self.now_ms();
        if !action_links::mark_used(&self.db, &hash, used_at).await? {
            // Another post of it got there first, or its deadline passed meanwhile.
            return Err(match action_links::find(&self.db, &hash).await? {
                Some(link) if link.used_at.is_some() => LinkRefused::Used,
                Some(_) => LinkRefused::Expired,
                None => LinkRefused::Unknown,
            }
            .into());
        }
        match self.decide(&row.instance_id, &recipient, request).await {
            Ok(decided) => Ok(decided),
            // Someone else (or the deadline) decided in between: the link is spent.
            Err(ServiceError::Conflict { message, .. }) => {
                Err(LinkRefused::MovedOn(message).into())
            }
            Err(ServiceError::Forbidden(why)) => Err(LinkRefused::NotYours(why).into()),
            Err(ServiceError::NotFound(_)) => Err(LinkRefused::NotYours(
                "its recipient may no longer see the order.".into(),
            )
            .into()),
            Err(e) => {
                // Nothing was decided (an undelivered decision answers Ok, unconfirmed):
                // the link may be used again.
                if let Err(release) = action_links::release(&self.db, &hash, used_at).await {
                    tracing::error!(instance_id = %row.instance_id, error = %release,
                        "giving an action link back");
                }
                Err(e.into())
            }
        }
    }

    /// The link `token` names, if it still stands; why not otherwise.
    async fn standing(&self, token: &str) -> Result<Standing, LinkError> {
        if token.len() > LONGEST_TOKEN {
            return Err(LinkRefused::Unknown.into());
        }
        let link = action_links::find(&self.db, &token_hash(token))
            .await?
            .ok_or(LinkRefused::Unknown)?;
        if link.used_at.is_some() {
            return Err(LinkRefused::Used.into());
        }
        if self.now_ms() >= link.expires_at {
            return Err(LinkRefused::Expired.into());
        }
        // Links go with their order (ON DELETE CASCADE); none is left without one.
        let row = read_model::get(&self.db, &link.instance_id)
            .await?
            .ok_or(LinkRefused::Unknown)?;
        if row.status != OrderStatus::AwaitingApproval || row.decision.is_some() {
            return Err(LinkRefused::MovedOn(conflict_for(&row).to_string()).into());
        }
        let asked = row
            .asked()
            .ok()
            .map(|(level, role)| (i64::from(level), role));
        if asked != Some((link.level, link.role)) {
            let why = format!(
                "order {} now waits for another approval than the one this link was sent for.",
                row.order_id
            );
            return Err(LinkRefused::MovedOn(why).into());
        }
        let recipient = accounts::credentials(&self.db, &link.recipient)
            .await?
            .map(|(user, _)| user)
            .ok_or_else(|| {
                LinkRefused::NotYours("the account it was sent to no longer exists.".into())
            })?;
        let request = DecisionRequest {
            decision: link.decision,
            comment: None,
            approver_name: None,
            via: Via::EmailLink,
        };
        match self.acting(&recipient, &row, &request).await {
            Ok(_) => Ok(Standing {
                link,
                row,
                recipient,
            }),
            Err(ServiceError::Forbidden(why)) => Err(LinkRefused::NotYours(why).into()),
            Err(e) => Err(e.into()),
        }
    }
}
