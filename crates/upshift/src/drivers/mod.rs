//! The drivers: each one touches one part of the server or its world and
//! knows nothing of runs, journals or plans. Release sources and archives,
//! installs, services, maintenance mode and drains, databases, keys, checks,
//! the licence, the HTTP client they share, and nodes (one machine's install,
//! service and checks, here or over ssh).

pub mod archive;
pub mod checks;
pub mod db;
pub mod drain;
pub mod http;
pub mod install;
pub mod keys;
pub mod licence;
pub mod maintenance;
pub mod node;
pub mod redirect;
pub mod release;
pub mod service;
