//! Files on an order (the quote): its requester attaches them with the form that
//! submits it (before its workflow starts: `start_with_files`) or while it waits
//! (`rules::policy::may_attach`); whoever may see the order
//! lists and downloads them. A file is told by its content (`rules::attachments`),
//! stored through the Dapr binding first and recorded after, so a row always has its
//! bytes; a file stored and then refused (the fifth place taken meanwhile, the order
//! decided) is deleted again.

use std::sync::Arc;

use domain::{clean_file_name, AttachmentView, FileType, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES};

use super::OrderService;
use crate::kernel::clock::from_ms;
use crate::kernel::engine_error::{EngineError, FailureKind};
use crate::kernel::error::ServiceError;
use crate::kernel::secret;
use crate::model::attachment::{AttachmentRow, NewAttachment};
use crate::model::order::OrderRow;
use crate::model::people::User;
use crate::rules::{attachments as kinds, policy};
use crate::store::attachments;
use crate::store::files::{Files, FilesError};

/// A file as it arrived: the name its sender gave it, and its bytes.
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    /// Its kind, if it is a file the app takes: not empty, at most 10 MB, and a PDF, PNG
    /// or JPEG by its content.
    pub fn kind(&self) -> Result<FileType, ServiceError> {
        if self.bytes.is_empty() {
            let mut errors = domain::ValidationErrors::default();
            errors.push("file", "The file is empty; choose the file to attach.");
            return Err(errors.into());
        }
        if self.bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(too_large());
        }
        kinds::sniff(&self.bytes).ok_or_else(|| {
            ServiceError::UnsupportedType(format!(
                "{} is not a PDF, PNG or JPEG file (told by its content, not its name); \
                 attach the quote as one of those.",
                if self.name.trim().is_empty() {
                    "The file"
                } else {
                    "This file"
                }
            ))
        })
    }
}

/// What a file past the limit is told.
pub fn too_large() -> ServiceError {
    ServiceError::TooLarge(format!(
        "A file may be at most {} MB; make it smaller (a PDF of the quote, or a photo at a \
         lower resolution).",
        MAX_ATTACHMENT_BYTES / (1024 * 1024)
    ))
}

fn view(row: AttachmentRow) -> AttachmentView {
    AttachmentView {
        id: row.id,
        name: row.name,
        size: row.size,
        content_type: row.content_type,
        added_by: row.added_by,
        at: from_ms(row.at),
    }
}

fn full(row: &OrderRow) -> ServiceError {
    ServiceError::Conflict {
        message: format!(
            "Order {} has {MAX_ATTACHMENTS} files already, as many as an order takes.",
            row.order_id
        ),
        status: Some(row.status),
        decided_by: None,
    }
}

fn unavailable(e: FilesError) -> ServiceError {
    ServiceError::Unavailable {
        message: "The file store cannot be reached right now; nothing was attached. Try \
                  again in a moment."
            .into(),
        source: EngineError::new(FailureKind::Unreachable, e.to_string()),
    }
}

impl OrderService {
    fn files(&self) -> Result<&Arc<dyn Files>, ServiceError> {
        self.files
            .as_ref()
            .ok_or_else(|| ServiceError::Unavailable {
                message: "Attached files are turned off on this server (ATTACHMENTS_BINDING)."
                    .into(),
                source: EngineError::new(FailureKind::NotReady, "no attachments binding"),
            })
    }

    /// `user` attaches `upload` to the order while it waits. Checked before anything
    /// is stored: who, the order's state, the count, the size and the kind.
    pub async fn attach(
        &self,
        user: &User,
        instance_id: &str,
        upload: Upload,
    ) -> Result<AttachmentView, ServiceError> {
        let row = self.order_for(user, instance_id).await?;
        policy::may_attach(user, &row)?;
        self.store_file(&row, user, upload)
            .await
            .map(|(file, _)| file)
    }

    /// Stores `upload` and records it on `row` (whom the policy let attach it); the
    /// file and where its bytes are.
    pub(super) async fn store_file(
        &self,
        row: &OrderRow,
        user: &User,
        upload: Upload,
    ) -> Result<(AttachmentView, String), ServiceError> {
        if row.attachments >= MAX_ATTACHMENTS {
            return Err(full(row));
        }
        let kind = upload.kind()?;
        let files = self.files()?;
        let file = NewAttachment {
            instance_id: row.instance_id.clone(),
            name: clean_file_name(&upload.name, kind),
            size: upload.bytes.len() as i64,
            content_type: kind.mime().to_owned(),
            sha256: secret::sha256_hex(&upload.bytes),
            // Random, so that no name or id of the order's reaches a path or a bucket.
            storage_key: format!(
                "orders/{}",
                &secret::token_hash(&secret::new_token(""))[..32]
            ),
            added_by: user.name.clone(),
            at: self.now_ms(),
        };
        files
            .put(&file.storage_key, &upload.bytes)
            .await
            .map_err(unavailable)?;
        let recorded = attachments::add(&self.db, &file, MAX_ATTACHMENTS).await;
        let id = match recorded {
            Ok(Some(id)) => id,
            refused => {
                if let Err(e) = files.delete(&file.storage_key).await {
                    tracing::warn!(key = %file.storage_key, error = %e, "an attached file that was not recorded stays in the store");
                }
                refused?;
                let now = self.get_row(&row.instance_id).await?;
                policy::may_attach(user, &now)?;
                return Err(full(&now));
            }
        };
        let view = AttachmentView {
            id,
            name: file.name,
            size: file.size,
            content_type: file.content_type,
            added_by: file.added_by,
            at: from_ms(file.at),
        };
        Ok((view, file.storage_key))
    }

    /// Deletes stored bytes whose rows went with an order that did not start.
    pub(super) async fn forget_files(&self, keys: &[String]) {
        let Some(files) = &self.files else { return };
        for key in keys {
            if let Err(e) = files.delete(key).await {
                tracing::warn!(%key, error = %e, "the file of an order that did not start stays in the store");
            }
        }
    }

    /// The order's files, oldest first, for whoever may see it.
    pub async fn attachments(
        &self,
        user: &User,
        instance_id: &str,
    ) -> Result<Vec<AttachmentView>, ServiceError> {
        let row = self.order_for(user, instance_id).await?;
        Ok(attachments::list(&self.db, &row.instance_id)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// One of the order's files and its bytes, for whoever may see the order; the
    /// bytes are checked against the digest recorded when it was attached.
    pub async fn attachment(
        &self,
        user: &User,
        instance_id: &str,
        id: i64,
    ) -> Result<(AttachmentView, Vec<u8>), ServiceError> {
        let row = self.order_for(user, instance_id).await?;
        let file = attachments::get(&self.db, &row.instance_id, id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("Order {} has no file {id}.", row.order_id))
            })?;
        let bytes = match self.files()?.get(&file.storage_key).await {
            Ok(bytes) => bytes,
            Err(FilesError::Missing(key)) => {
                return Err(ServiceError::Internal(format!(
                    "attachment {id} of {instance_id} is recorded but its bytes ({key}) are gone"
                )))
            }
            Err(e) => return Err(unavailable(e)),
        };
        if secret::sha256_hex(&bytes) != file.sha256 {
            return Err(ServiceError::Internal(format!(
                "attachment {id} of {instance_id}: the stored bytes do not match their digest"
            )));
        }
        Ok((view(file), bytes))
    }
}
