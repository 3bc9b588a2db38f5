//! upshift: upgrade a self-hosted server in place as one resumable,
//! journaled transaction.
//!
//! This crate is the whole tool without its command line: the instance file
//! ([`config`]), the drivers that touch the server (release source, install,
//! service, maintenance, database, keys, checks), the state database (journal,
//! backup catalog, history, lock) and the run engine that carries a plan out
//! step by step. The `upshift` binary is a thin layer over it.
//! `docs/ARCHITECTURE.md` is the map.

pub mod archive;
pub mod backup;
pub mod checks;
pub mod clone;
pub mod cmd;
pub mod config;
pub mod db;
pub mod drain;
pub mod error;
pub mod events;
pub mod failpoint;
pub mod fsutil;
pub mod http;
pub mod install;
pub mod instance;
pub mod keys;
pub mod licence;
pub mod maintenance;
pub mod node;
pub mod plan;
pub mod presets;
pub mod rehearse;
pub mod release;
pub mod run;
pub mod secret;
pub mod service;
pub mod state;
pub mod step;
pub mod template;
pub mod version;

pub use error::{Error, ErrorKind, Result};
pub use version::Version;
