//! upshift: upgrade a self-hosted server in place as one resumable,
//! journaled transaction.
//!
//! This crate is the whole tool without its command line, in five layers,
//! each a folder that uses only the ones below it
//! (`crates/upshift/tests/layers.rs` keeps it so):
//!
//! - [`operations`]: what is built on a run (clone, rehearse, the node agent);
//! - [`engine`]: the instance with its drivers, the plan, the journaled run
//!   and its undo, backups as operations, the state database;
//! - [`drivers`]: what touches the server (release source, install, service,
//!   maintenance, drain, database, keys, checks, licence, nodes);
//! - [`config`]: the instance file and the presets of `upshift init`;
//! - [`support`]: errors, secrets, templates, child commands, files, locks,
//!   versions, events, failpoints.
//!
//! The `upshift` binary is a thin layer over it. `docs/ARCHITECTURE.md` is
//! the map.

pub mod config;
pub mod drivers;
pub mod engine;
pub mod operations;
pub mod support;

pub use support::error::{Error, ErrorKind, Result};
pub use support::version::Version;
