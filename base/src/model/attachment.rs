//! An order's attached files as the read model keeps them: what the pages and the API
//! show, and where the bytes are (`storage_key`, behind the Dapr binding).

use sqlx::FromRow;

/// A file about to be recorded, its bytes already stored under `storage_key`.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub instance_id: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub storage_key: String,
    pub added_by: String,
    pub at: i64,
}

/// A recorded file.
#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub instance_id: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub sha256: String,
    pub storage_key: String,
    pub added_by: String,
    pub at: i64,
}
