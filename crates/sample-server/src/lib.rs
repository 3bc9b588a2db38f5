//! A small real server shaped like the servers upshift upgrades (think Octopus
//! Deploy): an HTTP API, a database (SQLite or PostgreSQL, behind [`db`])
//! with the same migrations per release, secrets encrypted with a master key,
//! a licence, maintenance mode, a task queue that drains, and "break"
//! switches that make failures happen for real.
//!
//! It is a test fixture and the demo server, never shipped. One binary is
//! packaged as several releases: the `release.toml` next to the binary says
//! which version it is and which migrations it may run ([`manifest`]).
//!
//! The library half serves two masters: the binary (`src/main.rs` only parses
//! arguments and maps errors to exit codes) and test code that builds release
//! archives ([`package`]), signed feeds ([`feed`], [`releases`]), instances
//! ([`instance`]) and compares database contents across an upgrade ([`data`]).

pub mod cli;
pub mod cluster;
pub mod config;
pub mod crypto;
pub mod data;
pub mod db;
pub mod error;
pub mod feed;
pub mod fixture;
pub mod fsutil;
pub mod http;
pub mod instance;
pub mod manifest;
pub mod migrations;
pub mod net;
pub mod package;
pub mod releases;
pub mod seed;
pub mod serve;
pub mod tasks;

pub use data::schema_version;
pub use error::SchemaError;
