//! Server-only core shared by the server functions, the JSON API and the workflow
//! worker: the read model, the Dapr workflow client and the rules for starting and
//! deciding orders. Compiled only with the `ssr` feature.

pub mod accounts;
pub mod error;
pub mod orders;
pub mod read_model;
pub mod session;
pub mod state;
pub mod workflow_types;

pub use error::ServiceError;
pub use orders::OrderService;
pub use state::AppState;
