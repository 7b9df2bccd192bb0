//! The statements SQLite runs its own way; the shared ones (`statements/`) use them
//! under the same names on both databases.

pub mod accounts;
pub mod backup;
pub mod changes;
pub mod outbox;
