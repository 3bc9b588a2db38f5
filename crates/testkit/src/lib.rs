//! Test support for upshift's integration tests: real sample installations
//! ([`Sample`]), a real HTTP server for feeds ([`FeedServer`]), hashes of
//! folders to prove "nothing changed" ([`tree_hash`]), throwaway PostgreSQL
//! and MariaDB servers ([`PgCluster`], [`MariaDb`]), hosts in network
//! namespaces reached over ssh ([`SshLab`]), waiting on a condition with a
//! deadline ([`wait_until`]) instead of sleeping, and a stand-in for Octopus
//! Deploy Server with its `sqlcmd` and `msiexec` ([`octopus`]).

mod feed_server;
mod local;
mod mariadb;
pub mod octopus;
mod pg_cluster;
mod sample;
mod ssh_lab;
mod tmpfs;
mod tree;
mod wait;

pub use feed_server::FeedServer;
pub use mariadb::MariaDb;
pub use pg_cluster::PgCluster;
pub use sample::{Sample, StopGuard};
pub use ssh_lab::{NetHost, SshLab};
pub use tmpfs::Tmpfs;
pub use tree::tree_hash;
pub use wait::wait_until;
