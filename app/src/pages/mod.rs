//! One page per file.

pub mod inbox;
pub mod login;
pub mod my_orders;
pub mod new_order;
pub mod order;
pub mod settings;
