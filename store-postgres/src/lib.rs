//! Every PostgreSQL statement of the backend, checked at compile time against the
//! schema `migrations/postgres` builds (offline data in `store-postgres/.sqlx`, written
//! and checked by `scripts/sqlx-prepare.sh`). The backend's store calls these on a
//! PostgreSQL database and its own SQLite statements otherwise; nothing above the store
//! knows which.
//!
//! The statements built at run time (the lists' filters) stay in the backend, where one
//! builder serves both databases.

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod delegation;
pub mod lease;
pub mod orders;
pub mod outbox;
pub mod recipients;
