//! The engine: an instance with one driver per section, the plan, the steps
//! and the journaled run that carries them out (forward, undo, resume),
//! backups as operations, and the state database (journal, catalog, history).

pub mod backup;
pub mod checks;
pub mod guard;
pub mod instance;
pub mod plan;
pub mod run;
pub mod state;
pub mod status;
pub mod step;
pub mod step_outputs;
