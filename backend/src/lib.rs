//! The server-side core of Approvals, shared by the server functions, the JSON API and
//! the workflow worker. `app` uses it only with its `ssr` feature, so nothing here can
//! reach the WASM bundle.
//!
//! Its folders are its layers, each importing only those listed after it:
//!
//! - [`ops`]: the reconciler, its lease, and what operators do about a stuck order;
//! - [`services`]: starting and deciding orders, people and sessions, delegation;
//! - [`workflow`]: `PurchaseOrderApprovalWorkflow`, its activities and its engine
//!   (Dapr, or in memory for tests);
//! - [`notify`]: e-mails and webhooks, through an outbox and Dapr output bindings;
//! - [`store`]: every statement about orders, on SQLite or PostgreSQL, and the change feed;
//! - [`rules`]: who may see and do what, and which levels an order needs;
//! - [`model`]: the rows and payloads the layers hand each other;
//! - [`kernel`]: the clock, the one error type, metrics, timing, seals, e-mail addresses.

pub mod notify;
pub mod ops;
pub mod rules;
pub mod services;
pub mod store;
pub mod workflow;

/// The two ground floors live in the `base` crate (which each database's statements
/// share); to the layers above they are `crate::kernel` and `crate::model` as before.
pub use base::{kernel, model};

pub use kernel::error::ServiceError;
