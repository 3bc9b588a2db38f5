//! Operations built on the engine: a test instance cloned from production,
//! a rehearsal of production's plan on such a clone, the node agent that
//! serves a remote node's requests on that node, and the service driven by
//! an operator outside a run.

pub mod agent;
pub mod clone;
pub mod output;
pub mod rehearse;
pub mod runs;
pub mod service;
