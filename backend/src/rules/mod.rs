//! The rules that decide on values handed to them, without reading or writing
//! anything: who may see and do what ([`policy`]) and which levels of approval an
//! order needs ([`approval_policy`]).

pub mod approval_policy;
pub mod policy;
