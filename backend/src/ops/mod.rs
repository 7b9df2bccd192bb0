//! What keeps orders moving after crashes and outages: the reconciler ([`reconcile`]),
//! which one replica at a time runs under a [`lease`], and what operators do about a
//! stuck order ([`operator`]). The top floor of the core: nothing below knows it.

pub mod lease;
pub mod operator;
pub mod reconcile;
