//! The HTTP layer without Dapr: the whole router (`server::app`) on a real SQLite file,
//! with the in-memory workflow engine, driven by `tower::ServiceExt::oneshot`. Each test
//! takes milliseconds; whatever involves real workflows (timers, crashes, races) is in
//! the `api` tests, against a real daprd. One module per topic; what they share is in
//! `common`.
//!
//! The tests run side by side, each building its own router in the same process; see
//! `server::app` on why that once stalled a page now and then, and
//! `building_another_router_never_stalls_a_page_being_rendered`.

mod assignments;
mod attachments;
mod auth;
mod bulk;
mod comments;
mod common;
mod decisions;
mod delegation;
mod events;
mod inbox;
mod orders;
mod pages;
