//! The server-side core of Approvals, shared by the server functions, the JSON API and
//! the workflow worker. `app` uses it only with its `ssr` feature, so nothing here can
//! reach the WASM bundle.
//!
//! - [`workflow`]: `PurchaseOrderApprovalWorkflow`, its activities and payloads;
//! - [`engine`]: the workflow engine behind a trait (Dapr, or in memory for tests);
//! - [`orders`]: the rules for starting and deciding orders;
//! - [`approval_policy`]: which levels of approval an order needs, by its total;
//! - [`reconcile`]: repairs the read model after crashes;
//! - [`read_model`], [`changes`]: the orders as SQL rows, and their change feed;
//! - [`policy`]: who may see and do what, asked by every path;
//! - [`delegation`]: decisions handed to another for a period (out of office);
//! - [`accounts`], [`session`], [`sign_in`], [`audit`]: people, the session cookie,
//!   bounded and rate-limited password checks, and the decision trail;
//! - [`metrics`]: what the server counts, for Prometheus;
//! - [`notify`]: e-mails and webhooks, through an outbox and Dapr output bindings.

pub mod accounts;
pub mod approval_policy;
pub mod audit;
pub mod changes;
pub mod clock;
pub mod db;
pub mod delegation;
pub mod email;
pub mod engine;
pub mod error;
pub mod fault;
pub mod group_commit;
pub mod lease;
pub mod metrics;
pub mod notify;
pub mod operator;
pub mod orders;
pub mod policy;
pub mod read_model;
pub mod reconcile;
pub mod seal;
pub mod session;
pub mod sign_in;
pub mod timing;
pub mod workflow;

pub use db::Db;
pub use error::ServiceError;
pub use orders::OrderService;
