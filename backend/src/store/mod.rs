//! Every statement about orders: the database and its migrations ([`db`]), the orders'
//! rows ([`read_model`]), the start path's group commit ([`group_commit`]), the change
//! feed ([`changes`]) and the decision trail ([`audit`]). Statements know no rules:
//! what may be read or written is decided above, by the services and `rules`.

pub mod audit;
pub mod changes;
pub mod db;
pub mod group_commit;
pub mod read_model;
