//! The orders' attached files as the read model records them (the bytes are in
//! [`super::files`]; see `services::orders::attachments` for who may do what).

use crate::model::attachment::{AttachmentRow, NewAttachment};

on_either_database!(attachments {
    /// Records a stored file and counts it on the order, if it waits and has fewer
    /// than `max`; its id.
    fn add(file: &NewAttachment, max: i64) -> Result<Option<i64>, sqlx::Error>;
    /// An order's files, oldest first.
    fn list(instance_id: &str) -> Result<Vec<AttachmentRow>, sqlx::Error>;
    fn get(instance_id: &str, id: i64) -> Result<Option<AttachmentRow>, sqlx::Error>;
});
