//! What the bench measures: [`api`] runs scenarios 1–4 and 7 ([`clients`]) against the
//! whole stack;
//! [`paired`] runs scenario 6, ours and the bare workflow in alternating rounds;
//! [`decisions`] the same for the decision path (section 9);
//! [`replicas`] the same load on a cluster of one replica and of two.

pub mod api;
pub mod clients;
pub mod decisions;
pub mod paired;
pub mod replicas;
