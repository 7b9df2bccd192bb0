//! The values the layers hand each other: an order's rows as the store reads them
//! ([`order`]), e-mails' action links ([`action_link`]), attached files ([`attachment`]), people and who acts for whom ([`people`]), and the names and payloads
//! the workflow, its activities and its clients agree on ([`workflow`]). Below the
//! rules and the store, so that both can speak of them; no I/O here.

pub mod action_link;
pub mod approvers;
pub mod attachment;
pub mod comment;
pub mod history;
pub mod notification;
pub mod order;
pub mod people;
pub mod workflow;
