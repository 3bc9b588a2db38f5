//! The ground floor: what every layer above uses and that uses nothing of
//! theirs. Errors and their exit-code kinds, secrets and their redaction,
//! templates, child commands, file writes, locks, versions, the events the
//! library reports through, interrupts (signals) and failpoints.

pub mod child_env;
pub mod clock;
pub mod cmd;
pub mod error;
pub mod events;
pub mod failpoint;
pub mod fsutil;
pub mod holders;
pub mod interrupt;
pub mod lock;
pub mod path;
pub mod private_dir;
pub mod redact;
pub mod secret;
pub mod template;
pub mod version;
