//! Database drivers: back up, verify, restore and query the instance's data.
//!
//! One trait, one file per engine, and capability traits for what only some
//! engines can do (`capabilities.rs`). Every backup a driver writes is verified
//! before it is reported (the engine's own integrity check, then a SHA-256 of
//! the file) and the run enters it in the backup catalog.
//!
//! A backup is usually one file; it may also be a folder (a PostgreSQL
//! directory dump, whose catalog SHA-256 is that of the manifest inside it,
//! see [`Database::backup_sha256`]) or a small marker file naming a snapshot
//! kept inside the database server (see [`InServerBackups`] and
//! [`Database::discard`]). A command database's backup is a file with a
//! sidecar beside it (see `command.rs`).

use crate::config::DatabaseConfig;
use crate::support::error::{Context, Result};
use std::path::{Path, PathBuf};

pub use capabilities::{cloneable, Cloneable, InServerBackups};

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
    /// What `{db}` stands for in templates: the SQLite file, the
    /// PostgreSQL database, the command database's name.
    fn name(&self) -> String;
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
    /// The content checksum of the data in a backup, where the engine can
    /// read a backup as a database; a restore is then proven by comparing.
    fn backup_checksum(&self, _backup: &Path) -> Result<Option<String>> {
        Ok(None)
    }
    /// Whether the live data is already what `backup` holds (a restore
    /// finished before a crash kept the journal from saying so). By
    /// default: the content checksums are equal.
    fn is_restored(&self, backup: &Path) -> Result<bool> {
        Ok(match self.backup_checksum(backup).ok().flatten() {
            Some(expected) => self.content_checksum().ok() == Some(expected),
            None => false,
        })
    }
    /// Whether restoring `backup` uses it up (a snapshot renamed back into
    /// place), so that it is no longer a backup afterwards.
    fn consumed_by_restore(&self, backup: &Path) -> bool {
        let _ = backup;
        false
    }
    /// Checks, before anything changes, what a backup and a restore will
    /// need (tool versions, privileges, other sessions); returns notes for
    /// the operator. Every refusal is an input error.
    fn preflight(&self) -> Result<Vec<String>> {
        Ok(vec![])
    }
    /// Which backup strategy is used and why, for `plan`.
    fn strategy_note(&self) -> Option<String> {
        None
    }
    /// Deletes a backup (retention): the file or folder, and whatever it
    /// keeps inside the database server.
    fn discard(&self, backup: &Path) -> Result<()> {
        remove_backup(backup)
    }
    /// The SHA-256 the catalog keeps for a backup: of the file, or of the
    /// manifest that lists every file of a backup folder.
    fn backup_sha256(&self, backup: &Path) -> Result<String> {
        crate::support::fsutil::sha256_file(backup)
    }
    /// Takes the database's lock for `what`, held until the returned value
    /// is dropped: every upshift working on this database, from any machine
    /// and whatever its state folder, takes it, so two operators cannot run
    /// on one cluster at once. [`crate::ErrorKind::Busy`] if another holds
    /// it; `None` where the engine offers no such lock.
    fn lock(&self, what: &str) -> Result<Option<Box<dyn std::fmt::Debug + Send>>> {
        let _ = what;
        Ok(None)
    }
    /// This driver as one a clone can be made of, if it is.
    fn as_cloneable(&self) -> Option<&dyn Cloneable> {
        None
    }
    /// This driver as one whose backups live inside the server, if they do.
    fn as_in_server(&self) -> Option<&dyn InServerBackups> {
        None
    }
}

/// Opens the driver the instance file names; `dir` is the instance file's
/// folder, where a command database's commands run.
pub fn open(cfg: &DatabaseConfig, dir: &Path) -> Box<dyn Database> {
    match cfg {
        DatabaseConfig::Sqlite { path } => Box::new(sqlite::Sqlite::new(path.path())),
        DatabaseConfig::Postgres(pg) => Box::new(postgres::Postgres::new(pg)),
        DatabaseConfig::Command(c) => Box::new(command::CommandDb::new(c, dir)),
    }
}

/// Removes a backup file or folder; one already gone is fine.
fn remove_backup(backup: &Path) -> Result<()> {
    let removed = match backup.is_dir() {
        true => std::fs::remove_dir_all(backup),
        false => std::fs::remove_file(backup),
    };
    match removed {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.context(|| format!("cannot remove backup {}", backup.display())),
    }
}

mod capabilities;
mod command;
mod postgres;
mod sqlite;
