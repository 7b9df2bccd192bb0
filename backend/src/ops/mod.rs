//! What keeps orders moving after crashes and outages: the reconciler ([`reconcile`]),
//! which one replica at a time runs under a [`lease`], with the [`housekeeping`] that
//! keeps the database from growing for ever, and what operators do about a stuck order
//! ([`operator`]), and the read model's [`backup`] and restore. The top floor of the
//! core: nothing below knows it.

pub mod backup;
pub mod housekeeping;
pub mod lease;
pub mod operator;
pub mod reconcile;
