//! The parts of the server other binaries reuse: the workflow and its activities (the
//! benchmark drives the very same workflow with no HTTP in front of it).

pub mod workflow;
