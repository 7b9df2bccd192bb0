//! The seed's scenarios, the races around them and everything else that needs real
//! workflows, against a real daprd, a real SQLite file and our real server binary. One
//! module per topic; the stack they run on is `tests/support` (kept apart for any test
//! binary that needs one), what else they share is in `common`.

#[path = "../support/mod.rs"]
mod support;

mod attachments;
mod backups;
mod common;
mod email_links;
mod histories;
mod levels;
mod notifications;
mod operations;
mod races;
mod recovery;
mod seeds;
