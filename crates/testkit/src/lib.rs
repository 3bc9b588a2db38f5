//! Test support for upshift's integration tests: real sample installations
//! ([`Sample`]), a real HTTP server for feeds ([`FeedServer`]), hashes of
//! folders to prove "nothing changed" ([`tree_hash`]), a throwaway PostgreSQL
//! server ([`PgCluster`]), waiting on a condition with a deadline
//! ([`wait_until`]) instead of sleeping, and a stand-in for Octopus Deploy
//! Server with its `sqlcmd` and `msiexec` ([`octopus`]).

mod feed_server;
pub mod octopus;
mod pg_cluster;
mod sample;
mod tmpfs;
mod tree;
mod wait;

pub use feed_server::FeedServer;
pub use pg_cluster::PgCluster;
pub use sample::{Sample, StopGuard};
pub use tmpfs::Tmpfs;
pub use tree::tree_hash;
pub use wait::wait_until;
