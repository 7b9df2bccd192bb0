//! The order's thread: its requester and whoever may decide it, or decided it, ask and
//! answer there (`rules::policy::may_discuss`). A decider may mark a comment as a
//! question to the requester; the order shows "question open" until the requester
//! writes. Participants are e-mailed (not the author), through the outbox.

use domain::{CommentView, Role, ValidationErrors};

use super::decide::checked_text;
use super::OrderService;
use crate::kernel::clock::from_ms;
use crate::kernel::error::ServiceError;
use crate::model::comment::{CommentRow, NewComment};
use crate::model::order::OrderRow;
use crate::model::people::User;
use crate::notify::outbox;
use crate::rules::policy;
use crate::services::delegation;
use crate::store::comments;

fn view(row: CommentRow) -> CommentView {
    CommentView {
        id: row.id,
        author: row.author,
        text: row.text,
        question: row.question,
        at: from_ms(row.at),
    }
}

impl OrderService {
    /// The order, if `user` takes part in its thread: 404 when they may not see it,
    /// 403 when they see it but are no part of it.
    async fn thread_of(&self, user: &User, instance_id: &str) -> Result<OrderRow, ServiceError> {
        let row = self.order_for(user, instance_id).await?;
        let delegators = delegation::delegators(&self.db, &user.name, self.now_ms()).await?;
        policy::may_discuss(user, &delegators, &row)?;
        Ok(row)
    }

    /// The order's thread, oldest first.
    pub async fn comments(
        &self,
        user: &User,
        instance_id: &str,
    ) -> Result<Vec<CommentView>, ServiceError> {
        let row = self.thread_of(user, instance_id).await?;
        Ok(comments::list(&self.db, &row.instance_id)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// `user` writes `text` in the order's thread (`question`: to the requester).
    pub async fn comment(
        &self,
        user: &User,
        instance_id: &str,
        text: &str,
        question: bool,
    ) -> Result<CommentView, ServiceError> {
        let mut errors = ValidationErrors::default();
        let text = checked_text("text", Some(text), &mut errors);
        if text.is_none() && errors.0.is_empty() {
            errors.push("text", "Write something to post.");
        }
        if !errors.0.is_empty() {
            return Err(errors.into());
        }
        let text = text.unwrap_or_default();
        let row = self.thread_of(user, instance_id).await?;
        let by_requester = row.requested_by.as_deref() == Some(user.name.as_str());
        if question && (by_requester || user.role == Role::Requester) {
            return Err(ServiceError::Forbidden(
                "Only those who decide the order ask its requester a question.".into(),
            ));
        }
        let at = self.now_ms();
        let comment = NewComment {
            instance_id: row.instance_id.clone(),
            author: user.name.clone(),
            text: text.to_owned(),
            question,
            answers: by_requester,
            at,
        };
        let id = comments::add(&self.db, &comment).await?;
        if self.notify.email {
            outbox::add_thread(&self.db, &row, id, &user.name, at).await?;
        }
        Ok(CommentView {
            id,
            author: comment.author,
            text: comment.text,
            question,
            at: from_ms(at),
        })
    }
}
