//! PostgreSQL: backed up as a verified `pg_dump` directory, or as an
//! in-cluster snapshot database; see `docs/postgres.md`.
//!
//! Design decisions:
//! - Two strategies, chosen in the instance file. `dump` writes a portable
//!   directory-format dump with parallel jobs; `snapshot` copies the live
//!   database inside the cluster (`CREATE DATABASE .. TEMPLATE`), which is a
//!   file copy on the server, and a rollback is two renames. The portable dump
//!   of a snapshot is made later by [`InServerBackups::export`], which the
//!   driver offers only with the `snapshot` strategy.
//! - What a backup is decides how it is verified and restored, not the
//!   configured strategy: a folder is a dump, a file is a snapshot marker.
//!   So a dump made from a snapshot, or a backup taken before the strategy
//!   was changed, is still handled right.
//! - A restore never writes into the live database: the new content is made
//!   under another name, and then the names are swapped in one transaction
//!   (`ALTER DATABASE .. RENAME` is transactional), so the live name always
//!   holds either the old or the new content, never half of one.
//! - Statements that rename, create or drop databases run from the cluster's
//!   maintenance database (`postgres`, else `template1`): nothing of ours may
//!   be connected to the databases they touch.
//! - The password (from the instance file, `PGPASSWORD`, or a pgpass file)
//!   goes to our own connections in memory and to the PostgreSQL tools only
//!   through their own `PGPASSWORD` environment variable; messages carry the
//!   role, host, port and database, never the password.

mod clone;
mod conn;
mod content;
mod databases;
mod dump;
mod lock;
mod names;
mod preflight;
mod sessions;
mod snapshot;
mod tools;

use super::{BackupFile, Cloneable, Database, InServerBackups};
use crate::config::{DatabaseConfig, PgStrategy, PostgresConfig};
use crate::support::error::{Error, Result};
use std::path::Path;

/// A PostgreSQL database named in the instance file.
#[derive(Debug)]
pub struct Postgres {
    cfg: PostgresConfig,
}

impl Postgres {
    /// The database `cfg` names (nothing is connected yet).
    pub fn new(cfg: &PostgresConfig) -> Self {
        Postgres { cfg: cfg.clone() }
    }

    /// `user@host:port`, for messages.
    fn server(&self) -> String {
        format!("{}@{}:{}", self.cfg.user, self.cfg.host, self.cfg.port)
    }

    /// Parallel jobs for pg_dump and pg_restore.
    fn jobs(&self) -> u32 {
        self.cfg.jobs.max(1)
    }
}

/// What a backup path holds.
enum Kind {
    Dump,
    Snapshot(snapshot::Marker),
}

/// Tells a dump folder from a snapshot marker.
fn kind_of(backup: &Path) -> Result<Kind> {
    if backup.is_dir() {
        return Ok(Kind::Dump);
    }
    if !backup.is_file() {
        return Err(Error::input(format!(
            "backup {} does not exist",
            backup.display()
        )));
    }
    snapshot::Marker::read(backup).map(Kind::Snapshot)
}

impl Database for Postgres {
    fn lock(&self, what: &str) -> Result<Option<Box<dyn std::fmt::Debug + Send>>> {
        Ok(Some(Box::new(self.advisory_lock(what)?)))
    }

    fn name(&self) -> String {
        self.cfg.dbname.clone()
    }

    fn describe(&self) -> String {
        let strategy = match self.cfg.strategy {
            PgStrategy::Dump => "dump",
            PgStrategy::Snapshot => "snapshot",
        };
        format!(
            "postgres {}/{} ({strategy})",
            self.server(),
            self.cfg.dbname
        )
    }

    fn size(&self) -> Result<u64> {
        let mut client = self.connect_live()?;
        let bytes: i64 = conn::one(
            &mut client,
            "SELECT pg_database_size(current_database())",
            &self.at_live("reading the database size"),
        )?;
        Ok(bytes.max(0) as u64)
    }

    fn ping(&self) -> Result<()> {
        let mut client = self.connect_live()?;
        let _: i32 = conn::one(
            &mut client,
            "SELECT 1",
            &self.at_live("querying the database"),
        )?;
        Ok(())
    }

    fn backup(&self, dir: &Path, name: &str, progress: &dyn Fn(u64, u64)) -> Result<BackupFile> {
        match self.cfg.strategy {
            PgStrategy::Dump => {
                let total = self.size()?;
                self.dump_to(&self.cfg.dbname, dir, name, total, progress)
            }
            PgStrategy::Snapshot => self.snapshot(dir, name, progress),
        }
    }

    fn verify(&self, file: &Path) -> Result<()> {
        match kind_of(file)? {
            Kind::Dump => self.verify_dump(file),
            Kind::Snapshot(marker) => self.verify_snapshot(file, &marker),
        }
    }

    fn restore(&self, file: &Path) -> Result<()> {
        match kind_of(file)? {
            Kind::Dump => self.restore_dump(file),
            Kind::Snapshot(marker) => self.restore_snapshot(file, &marker),
        }
    }

    fn content_checksum(&self) -> Result<String> {
        self.checksum_of(&self.cfg.dbname)
    }

    fn query_scalar(&self, sql: &str) -> Result<serde_json::Value> {
        self.scalar(sql)
    }

    fn backup_checksum(&self, backup: &Path) -> Result<Option<String>> {
        match kind_of(backup)? {
            Kind::Dump => Ok(None),
            // A sealed snapshot is the backup itself: the restore renames it
            // in, checked by its seal and OID instead of a full scan.
            Kind::Snapshot(_) => Ok(None),
        }
    }

    fn is_restored(&self, backup: &Path) -> Result<bool> {
        match kind_of(backup)? {
            Kind::Dump => Ok(false),
            Kind::Snapshot(marker) => self.snapshot_is_live(&marker),
        }
    }

    fn consumed_by_restore(&self, backup: &Path) -> bool {
        matches!(kind_of(backup), Ok(Kind::Snapshot(_)))
    }

    fn preflight(&self) -> Result<Vec<String>> {
        self.check().map_err(Error::into_input)
    }

    fn strategy_note(&self) -> Option<String> {
        Some(match self.cfg.strategy {
            PgStrategy::Dump => format!(
                "PostgreSQL strategy `dump` ([database] strategy, the default): pg_dump in \
                 directory format with {} parallel jobs, verified; a rollback restores it into \
                 a fresh database and swaps the names (takes about as long as the dump); \
                 `snapshot` would roll back in seconds",
                self.jobs()
            ),
            PgStrategy::Snapshot => "PostgreSQL strategy `snapshot` ([database] strategy): an \
                 in-cluster copy (CREATE DATABASE .. TEMPLATE) inside the window, so a rollback \
                 is a rename that takes seconds whatever the size; the portable dump is made \
                 from the snapshot after the window"
                .to_string(),
        })
    }

    fn discard(&self, backup: &Path) -> Result<()> {
        match kind_of(backup) {
            Ok(Kind::Snapshot(marker)) => self.discard_snapshot(backup, &marker),
            _ => super::remove_backup(backup),
        }
    }

    fn backup_sha256(&self, backup: &Path) -> Result<String> {
        match backup.is_dir() {
            true => dump::manifest_sha256(backup),
            false => crate::support::fsutil::sha256_file(backup),
        }
    }

    fn as_cloneable(&self) -> Option<&dyn Cloneable> {
        Some(self)
    }

    fn as_in_server(&self) -> Option<&dyn InServerBackups> {
        match self.cfg.strategy {
            PgStrategy::Dump => None,
            PgStrategy::Snapshot => Some(self),
        }
    }
}

/// Snapshots are databases in the cluster: exported after the window.
impl InServerBackups for Postgres {
    fn export(&self, backup: &Path, dir: &Path, name: &str) -> Result<Option<BackupFile>> {
        match kind_of(backup)? {
            Kind::Dump => Ok(None),
            Kind::Snapshot(marker) => self.finalize_snapshot(&marker, dir, name).map(Some),
        }
    }
}

/// A clone's database is a new database `<dbname>_<clone>` in the same
/// cluster, made by this role (see `clone.rs`).
impl Cloneable for Postgres {
    fn clone_name(&self, _instance_dir: &Path, _dir: &Path, name: &str) -> Result<String> {
        let db = format!("{}_{}", self.cfg.dbname, name.replace('-', "_"));
        if db.len() > names::MAX_NAME {
            return Err(Error::input(format!(
                "the clone's database name {db} is longer than PostgreSQL's {} bytes",
                names::MAX_NAME
            ))
            .hint("pick a shorter --name"));
        }
        Ok(db)
    }

    fn point_at(&self, database: &mut toml::Table, db: &str) {
        database.insert("dbname".into(), db.into());
    }

    fn same_database(&self, other: &DatabaseConfig) -> Option<&'static str> {
        match other {
            DatabaseConfig::Postgres(c)
                if c.dbname == self.cfg.dbname
                    && c.host == self.cfg.host
                    && c.port == self.cfg.port =>
            {
                Some("database.dbname")
            }
            _ => None,
        }
    }

    fn restore_as_new(&self, backup: &Path, target: &DatabaseConfig) -> Result<()> {
        self.restore_new(backup, target)
    }

    fn execute(&self, sql: &str) -> Result<()> {
        self.run_statements(sql)
    }

    fn destroy(&self) -> Result<()> {
        self.drop_live()
    }
}
