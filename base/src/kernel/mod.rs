//! The ground floor: what every other layer may use and which uses none of them. The
//! clock, the one error type of the core (and how a call to the workflow engine
//! failed), what the server counts and times, keyed seals, bearer secrets, e-mail addresses, and the
//! faults a test arms.

pub mod clock;
pub mod email;
pub mod engine_error;
pub mod error;
pub mod fault;
pub mod metrics;
pub mod seal;
pub mod secret;
pub mod timing;
