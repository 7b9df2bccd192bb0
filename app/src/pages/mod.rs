//! One page per file.

pub mod inbox;
pub mod login;
pub mod my_orders;
pub mod new_order;
pub mod order;
#[cfg(feature = "ssr")]
mod order_panels;
pub mod settings;
