//! The state database: upshift's memory of an instance.
//!
//! One embedded SQLite file (`state.db`) in the instance's state folder holds
//! the journal of runs and their steps ([`runs`]), the backup catalog
//! ([`catalog`]), the install history ([`history`]), what operators did
//! outside runs ([`actions`]) and a few settings
//! ([`settings`]). Beside it, [`lock`] keeps one run at a time per instance.
//!
//! It is what makes a run crash-safe. The engine records each step before it
//! acts and again after it finishes; every such call is its own committed
//! transaction, written in WAL mode with `synchronous=FULL`, so once a call
//! returns the record survives `kill -9` and a power cut, and `status` or
//! `resume` see exactly where a run stopped.
//!
//! Design decisions:
//! - The folder is created 0700 and the database 0600 (SQLite gives its WAL
//!   and shared-memory files the database's mode). Nothing secret is stored
//!   anyway: callers pass names, paths, hashes and messages only.
//! - The schema is versioned with `PRAGMA user_version` and migrated forward
//!   in one transaction when the database is opened ([`schema`]).
//! - A busy timeout lets `status` read while a run writes, from another
//!   process.
//! - Timestamps are RFC 3339 UTC with milliseconds, so they sort as text.
//! - The connection sits behind a mutex so that a [`State`] can be shared
//!   between the engine's threads.

#[macro_use]
mod text_enum;

pub mod actions;
pub mod catalog;
pub mod history;
pub mod rehearsals;
pub mod runs;
mod schema;
pub mod settings;

pub use actions::ActionRecord;
pub use catalog::{BackupKind, BackupRecord, NewBackup};
pub use history::HistoryRecord;
pub use rehearsals::RehearsalFigures;
pub use runs::{RunRecord, RunStatus, StepRecord, StepStatus};

use crate::support::clock::now;
use crate::support::error::{Error, Result};
use crate::support::{fsutil, private_dir};
use rusqlite::{Connection, OpenFlags};
use std::fs::{OpenOptions, Permissions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The database's file name inside the state folder.
pub const DB_FILE: &str = "state.db";

/// How long a writer waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// An open state database.
#[derive(Debug)]
pub struct State {
    dir: PathBuf,
    db: PathBuf,
    conn: Mutex<Connection>,
}

impl State {
    /// Opens the state database in `dir`, creating the folder (0700) and the
    /// database (0600) if needed, and migrates its schema forward.
    pub fn open(dir: &Path) -> Result<State> {
        private_dir::create(dir, "the state folder")?;
        let db = dir.join(DB_FILE);
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&db)
            .and_then(|_| std::fs::set_permissions(&db, Permissions::from_mode(0o600)))
            .map_err(|e| match fsutil::unwritable(&e) {
                true => unwritable(&db).caused_by(e),
                false => unreadable(&db).caused_by(e),
            })?;
        let mut conn = connect(&db)?;
        schema::migrate(&mut conn, &db)?;
        Ok(State {
            dir: dir.to_path_buf(),
            db,
            conn: Mutex::new(conn),
        })
    }

    /// The state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The connection, for one call at a time.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A failure message naming this database: `{what} in {db}`.
    fn fail(&self, what: impl std::fmt::Display) -> String {
        format!("cannot {what} in the state database {}", self.db.display())
    }
}

/// Opens `db` and sets the pragmas every connection needs; the first read
/// fails here if the file is not a database.
fn connect(db: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_error(db, e))?;
    let mode = conn
        .busy_timeout(BUSY_TIMEOUT)
        .and_then(|_| {
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        })
        .map_err(|e| sqlite_error(db, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::failed(format!(
            "the state database {} refused WAL mode (it stays in {mode} mode)",
            db.display()
        ))
        .hint("keep the state folder on a local file system"));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
        .map_err(|e| sqlite_error(db, e))?;
    Ok(conn)
}

/// The error for a database SQLite could not open, set up or migrate:
/// [`unwritable`] when the folder is read-only, full or not ours (bad input,
/// exit 2), [`unreadable`] otherwise (a corrupt database, say).
fn sqlite_error(db: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    let folder = matches!(
        e.sqlite_error_code(),
        Some(C::ReadOnly | C::DiskFull | C::CannotOpen | C::PermissionDenied)
    );
    match folder {
        true => unwritable(db).caused_by(e),
        false => unreadable(db).caused_by(e),
    }
}

/// The error for a database in a folder that cannot be written.
fn unwritable(db: &Path) -> Error {
    Error::input(format!("cannot write the state database {}", db.display()))
        .hint(fsutil::UNWRITABLE_STATE)
}

/// The error for a database that cannot be opened or read.
fn unreadable(db: &Path) -> Error {
    Error::failed(format!("cannot open the state database {}", db.display())).hint(
        "check that this user can read and write it; if it is corrupt, move it aside and \
         upshift starts a new one (the journal, catalog and history in it are then lost, \
         the backup files themselves stay where they are)",
    )
}

/// Reads a JSON text column.
fn json_column(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh state folder (inside the returned tempdir) and its database.
    pub(crate) fn fresh() -> (tempfile::TempDir, State) {
        let tmp = tempfile::tempdir().unwrap();
        let state = State::open(&tmp.path().join("state")).unwrap();
        (tmp, state)
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folder_is_0700_and_database_files_0600() {
        let (_tmp, state) = fresh();
        state.salt().unwrap();
        assert_eq!(mode(state.dir()), 0o700);
        for name in [DB_FILE, "state.db-wal", "state.db-shm"] {
            assert_eq!(mode(&state.dir().join(name)), 0o600, "{name}");
        }
    }

    #[test]
    fn uses_wal_and_full_sync() {
        let (_tmp, state) = fresh();
        let conn = state.conn();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "FULL");
    }

    #[test]
    fn corrupt_database_is_a_failure_with_path_and_hint() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join(DB_FILE);
        std::fs::write(&db, vec![0x5a; 8192]).unwrap();
        let err = State::open(tmp.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Failed);
        assert!(err.to_string().contains(&db.display().to_string()), "{err}");
        assert!(err.hint_text().unwrap().contains("move it aside"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc_millis() {
        let t = now();
        assert_eq!(t.len(), "2026-11-26T11:30:05.123Z".len(), "{t}");
        assert!(t.ends_with('Z'));
        humantime::parse_rfc3339(&t).unwrap();
    }
}
