//! The rules that decide on values handed to them, without reading or writing
//! anything: who may see and do what ([`policy`]), which levels of approval an
//! order needs ([`approval_policy`]) and what an attached file is ([`attachments`]).

pub mod approval_policy;
pub mod attachments;
pub mod policy;
