//! Database drivers: back up, verify, restore and query the instance's data.
//!
//! One trait, one file per engine. Every backup a driver writes is verified
//! before it is reported (the engine's own integrity check, then a SHA-256 of
//! the file) and the run enters it in the backup catalog.

use crate::config::DatabaseConfig;
use crate::error::Result;
use std::path::{Path, PathBuf};

/// A finished, verified backup file.
#[derive(Debug, Clone)]
pub struct BackupFile {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// What upshift needs from a database.
pub trait Database: std::fmt::Debug + Send + Sync {
    /// For messages: engine and location (never credentials).
    fn describe(&self) -> String;
    /// Bytes the data takes, to check disk space before a backup.
    fn size(&self) -> Result<u64>;
    /// Proves the database is reachable and readable.
    fn ping(&self) -> Result<()>;
    /// Writes a backup named `name` into `dir`, verifies it, returns it.
    /// `progress(done, total)` is called as pages/bytes are copied.
    fn backup(&self, dir: &Path, name: &str, progress: &dyn Fn(u64, u64)) -> Result<BackupFile>;
    /// Proves a backup file is readable and internally consistent.
    fn verify(&self, file: &Path) -> Result<()>;
    /// Replaces the live data with the backup (the service must be stopped).
    fn restore(&self, file: &Path) -> Result<()>;
    /// A checksum of the logical content (every table, every row), equal for
    /// two databases holding the same data.
    fn content_checksum(&self) -> Result<String>;
    /// First column of the first row of `sql`, as JSON (null if no row).
    fn query_scalar(&self, sql: &str) -> Result<serde_json::Value>;
}

/// Opens the driver the instance file names.
pub fn open(cfg: &DatabaseConfig) -> Box<dyn Database> {
    match cfg {
        DatabaseConfig::Sqlite { path } => Box::new(sqlite::Sqlite::new(path.path())),
    }
}

mod sqlite;
