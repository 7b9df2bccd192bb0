//! The ground floors of the backend, shared by it and by each database's statements:
//!
//! - [`model`]: the rows and payloads the layers hand each other;
//! - [`kernel`]: the clock, the one error type, metrics, timing, seals, e-mail addresses.
//!
//! `backend` re-exports both, so inside it they are still `crate::kernel` and
//! `crate::model`.

pub mod kernel;
pub mod model;
