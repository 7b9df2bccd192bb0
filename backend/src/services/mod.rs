//! The rules at work: starting and deciding orders ([`orders`]), people, their
//! sessions and tokens ([`accounts`], [`session`], [`sign_in`]), and decisions handed
//! to another for a while ([`delegation`]). They ask `rules` who may do what, write
//! through `store`, and drive orders through `workflow`.

pub mod accounts;
pub mod client_address;
pub mod delegation;
pub mod orders;
pub mod session;
pub mod sign_in;
