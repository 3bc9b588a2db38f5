//! Loopback ports for the servers a fixture or a cluster starts. Its own
//! file so that the fixture and the cluster both use it without using each
//! other.

use anyhow::{Context, Result};

/// A TCP port free on loopback now.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
