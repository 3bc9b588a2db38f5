//! The backup catalog: every backup upshift made, and whether it verified.
//!
//! A backup is recorded with its path, size and SHA-256 so that a restore can
//! check it is restoring the same bytes, the version it belongs to, the run
//! that made it (none for a manual `upshift backup`), and for key backups the
//! salted fingerprint of the key. Verification is kept as its latest result:
//! when, whether it passed, and what was checked or what was wrong.
//!
//! A backup that a restore used up (a PostgreSQL snapshot is renamed back
//! into place) is marked consumed, not forgotten: the catalog keeps the
//! history, while verification and retention pass it by.
//!
//! Paths are stored as text, so a path that is not UTF-8 is refused rather
//! than stored changed.

use super::{now, State};
use crate::support::error::{Context, Error, Result};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

text_enum! {
    /// What a backup holds.
    pub enum BackupKind {
        /// The server's keys, encrypted.
        Keys = "keys",
        /// A database dump or copy.
        Db = "db",
    }
}

/// A backup to record.
#[derive(Debug, Clone)]
pub struct NewBackup<'a> {
    pub kind: BackupKind,
    pub path: &'a Path,
    pub size: u64,
    pub sha256: &'a str,
    /// The server version the backup belongs to.
    pub version: &'a str,
    pub run_id: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
    /// True if the backup passed verification as it was made; then
    /// `verify_detail` says what was checked. False records it as not
    /// verified yet, and `verify_detail` is not kept.
    pub verified: bool,
    pub verify_detail: &'a str,
}

/// A backup in the catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupRecord {
    pub id: i64,
    pub kind: BackupKind,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub version: String,
    pub run_id: Option<String>,
    pub created_at: String,
    pub fingerprint: Option<String>,
    /// When it was last verified; `None` if never.
    pub verified_at: Option<String>,
    pub verified_ok: Option<bool>,
    pub verify_detail: Option<String>,
    /// When a restore used the backup up (it no longer exists as a backup).
    pub consumed_at: Option<String>,
}

const BACKUP_COLUMNS: &str = "id, kind, path, size, sha256, version, run_id, created_at, \
     fingerprint, verified_at, verified_ok, verify_detail, consumed_at";

fn backup_from_row(r: &Row<'_>) -> rusqlite::Result<BackupRecord> {
    Ok(BackupRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        path: PathBuf::from(r.get::<_, String>(2)?),
        size: r.get(3)?,
        sha256: r.get(4)?,
        version: r.get(5)?,
        run_id: r.get(6)?,
        created_at: r.get(7)?,
        fingerprint: r.get(8)?,
        verified_at: r.get(9)?,
        verified_ok: r.get(10)?,
        verify_detail: r.get(11)?,
        consumed_at: r.get(12)?,
    })
}

impl State {
    /// Records a backup and returns its catalog id.
    pub fn add_backup(&self, b: &NewBackup<'_>) -> Result<i64> {
        let path = b.path.to_str().ok_or_else(|| {
            Error::input(format!(
                "backup path {} is not valid UTF-8",
                b.path.display()
            ))
            .hint("choose a backup folder whose path is plain UTF-8")
        })?;
        let created_at = now();
        let verified_at = b.verified.then_some(created_at.as_str());
        let verify_detail = b.verified.then_some(b.verify_detail);
        let conn = self.conn();
        conn.execute(
            "INSERT INTO backups (kind, path, size, sha256, version, run_id, created_at, \
             fingerprint, verified_at, verified_ok, verify_detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                b.kind,
                path,
                b.size,
                b.sha256,
                b.version,
                b.run_id,
                created_at,
                b.fingerprint,
                verified_at,
                b.verified.then_some(true),
                verify_detail,
            ],
        )
        .context(|| self.fail(format_args!("record the {} backup {path}", b.kind)))?;
        Ok(conn.last_insert_rowid())
    }

    /// The backups in the catalog, of one kind or all, newest first.
    pub fn backups(&self, kind: Option<BackupKind>) -> Result<Vec<BackupRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {BACKUP_COLUMNS} FROM backups WHERE ?1 IS NULL OR kind = ?1 \
                 ORDER BY id DESC"
            ))
            .context(|| self.fail("read the backup catalog"))?;
        let rows = stmt
            .query_map(params![kind], backup_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.context(|| self.fail("read the backup catalog"))
    }

    /// One backup, if it is in the catalog.
    pub fn backup(&self, id: i64) -> Result<Option<BackupRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {BACKUP_COLUMNS} FROM backups WHERE id = ?1"),
                params![id],
                backup_from_row,
            )
            .optional()
            .context(|| self.fail(format_args!("read backup {id}")))
    }

    /// Records the result of verifying a backup now.
    pub fn record_verification(&self, id: i64, ok: bool, detail: &str) -> Result<()> {
        let changed = self
            .conn()
            .execute(
                "UPDATE backups SET verified_at = ?2, verified_ok = ?3, verify_detail = ?4 \
                 WHERE id = ?1",
                params![id, now(), ok, detail],
            )
            .context(|| self.fail(format_args!("record the verification of backup {id}")))?;
        if changed == 0 {
            return Err(Error::input(format!("no backup {id} in the catalog"))
                .hint("`upshift backups list` shows the backups there are"));
        }
        Ok(())
    }

    /// Marks a backup as used up by a restore (now).
    pub fn mark_consumed(&self, id: i64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE backups SET consumed_at = ?2 WHERE id = ?1 AND consumed_at IS NULL",
                params![id, now()],
            )
            .context(|| self.fail(format_args!("mark backup {id} as consumed")))?;
        Ok(())
    }

    /// Removes a backup from the catalog (after its files were deleted).
    pub fn forget_backup(&self, id: i64) -> Result<()> {
        self.conn()
            .execute("DELETE FROM backups WHERE id = ?1", params![id])
            .context(|| self.fail(format_args!("remove backup {id} from the catalog")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::tests::fresh;

    fn new_backup<'a>(kind: BackupKind, path: &'a Path, verified: bool) -> NewBackup<'a> {
        NewBackup {
            kind,
            path,
            size: 4096,
            sha256: "ab12",
            version: "1.0.0",
            run_id: None,
            fingerprint: None,
            verified,
            verify_detail: "restored into a scratch database",
        }
    }

    #[test]
    fn catalog_round_trip_and_verification() {
        let (_tmp, state) = fresh();
        let run = state
            .create_run("upgrade", "1.0.0", "1.1.0", &serde_json::json!({}))
            .unwrap();
        let keys_path = Path::new("/var/backups/keys-1.0.0.age");
        let keys = state
            .add_backup(&NewBackup {
                run_id: Some(&run),
                fingerprint: Some("fp-9c"),
                ..new_backup(BackupKind::Keys, keys_path, true)
            })
            .unwrap();
        let db = state
            .add_backup(&new_backup(
                BackupKind::Db,
                Path::new("/var/backups/db.sqlite"),
                false,
            ))
            .unwrap();

        let k = state.backup(keys).unwrap().unwrap();
        assert_eq!(
            (k.kind, k.path.as_path(), k.size),
            (BackupKind::Keys, keys_path, 4096)
        );
        assert_eq!(
            (k.run_id.as_deref(), k.fingerprint.as_deref()),
            (Some(run.as_str()), Some("fp-9c"))
        );
        assert_eq!((k.sha256.as_str(), k.version.as_str()), ("ab12", "1.0.0"));
        assert_eq!(k.verified_ok, Some(true));
        assert_eq!(k.verified_at.as_ref(), Some(&k.created_at));
        assert_eq!(
            k.verify_detail.as_deref(),
            Some("restored into a scratch database")
        );

        let d = state.backup(db).unwrap().unwrap();
        assert_eq!(
            (d.verified_at, d.verified_ok, d.verify_detail),
            (None, None, None)
        );
        state
            .record_verification(db, false, "sha256 mismatch")
            .unwrap();
        let d = state.backup(db).unwrap().unwrap();
        assert_eq!(d.verified_ok, Some(false));
        assert_eq!(d.verify_detail.as_deref(), Some("sha256 mismatch"));
        assert!(d.verified_at.is_some());

        let all: Vec<_> = state.backups(None).unwrap().iter().map(|b| b.id).collect();
        assert_eq!(all, [db, keys]);
        let only_keys: Vec<_> = state
            .backups(Some(BackupKind::Keys))
            .unwrap()
            .iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(only_keys, [keys]);
        assert!(state.backup(db + 100).unwrap().is_none());
        assert_eq!(state.backup(db).unwrap().unwrap().consumed_at, None);
        state.mark_consumed(db).unwrap();
        let consumed = state.backup(db).unwrap().unwrap().consumed_at.unwrap();
        state.mark_consumed(db).unwrap();
        assert_eq!(
            state.backup(db).unwrap().unwrap().consumed_at,
            Some(consumed),
            "marking again keeps the first time"
        );
        let err = state.record_verification(db + 100, true, "").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
    }

    #[test]
    fn backup_of_unknown_run_is_refused() {
        let (_tmp, state) = fresh();
        let b = NewBackup {
            run_id: Some("20000101-000000-0000"),
            ..new_backup(BackupKind::Db, Path::new("/b"), true)
        };
        assert!(state.add_backup(&b).is_err());
        assert!(state.backups(None).unwrap().is_empty());
    }
}
