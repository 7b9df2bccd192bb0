//! Every PostgreSQL statement of the backend, checked at compile time against the
//! schema `migrations/postgres` builds (offline data in `store-postgres/.sqlx`, written
//! and checked by `scripts/sqlx-prepare.sh`).
//!
//! Most statements read the same on SQLite: they are written once, in `statements/`,
//! and compiled into this crate and into `store-sqlite` alike, each crate checking them
//! against its own database (`Pool` and `Database` below are what differs). Those that
//! differ are in [`dialect`], under the same names in both crates. The backend's store
//! (`backend/src/store`) calls one crate or the other; nothing above it knows which.

/// The database these statements run on.
pub type Database = sqlx::Postgres;
/// A pool of connections to it.
pub type Pool = sqlx::PgPool;

mod dialect;

#[path = "../../statements/accounts.rs"]
pub mod accounts;
#[path = "../../statements/action_links.rs"]
pub mod action_links;
#[path = "../../statements/attachments.rs"]
pub mod attachments;
#[path = "../../statements/audit.rs"]
pub mod audit;
#[path = "../../statements/changes.rs"]
pub mod changes;
#[path = "../../statements/comments.rs"]
pub mod comments;
#[path = "../../statements/delegation.rs"]
pub mod delegation;
#[path = "../../statements/lease.rs"]
pub mod lease;
#[path = "../../statements/maintenance.rs"]
pub mod maintenance;
#[path = "../../statements/orders.rs"]
pub mod orders;
#[path = "../../statements/outbox.rs"]
pub mod outbox;
#[path = "../../statements/recipients.rs"]
pub mod recipients;
