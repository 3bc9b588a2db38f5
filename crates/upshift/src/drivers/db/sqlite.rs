//! SQLite: a single file, backed up and restored through SQLite's online
//! backup API.
//!
//! Design decisions:
//! - Every connection is opened without `SQLITE_OPEN_CREATE`: a wrong path in
//!   the instance file must be an error, never a new empty database that a
//!   later step would happily "restore" or check.
//! - A backup is copied page by page with the backup API (consistent even if
//!   something still writes), in large steps and without pauses, into a
//!   hidden temporary file whose journal is off (it is discarded on any
//!   failure anyway). The copy is switched to rollback-journal mode so that
//!   it is one self-contained file (a WAL-mode copy would grow `-wal`/`-shm`
//!   files beside it when read). It is fsynced, then checked with
//!   `PRAGMA integrity_check` while its SHA-256 is computed in parallel, and
//!   only then renamed to its final name. A failed backup leaves nothing.
//! - A restore verifies the backup before it touches anything, then copies it
//!   into the live file through the backup API, so SQLite itself keeps the
//!   live file, its WAL and its shared memory consistent; then checkpoints.
//! - The content checksum hashes the schema and every row with type tags, so
//!   it compares data, not files (two files with the same data but different
//!   page layouts have the same checksum).

use super::{BackupFile, Cloneable, Database};
use crate::config::DatabaseConfig;
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Pages copied per backup step: large enough that stepping costs nothing,
/// small enough for a useful progress report.
const STEP_PAGES: i32 = 1024;
/// How long to keep retrying a step while another connection holds a lock.
const BUSY_WAIT: Duration = Duration::from_secs(30);
/// How long preflight waits for a lock held by someone else.
const PING_WAIT: Duration = Duration::from_secs(5);
/// How a full disk is said in messages.
const DISK_FULL: &str = "no space left on device";

/// A SQLite database file.
#[derive(Debug)]
pub struct Sqlite {
    path: PathBuf,
}

impl Sqlite {
    /// The database at `path` (nothing is opened yet).
    pub fn new(path: &Path) -> Self {
        Sqlite {
            path: path.to_path_buf(),
        }
    }

    /// A read-only connection to the live database.
    fn read_only(&self) -> Result<Connection> {
        if !self.path.exists() {
            return Err(Error::input(format!(
                "SQLite database {} does not exist",
                self.path.display()
            ))
            .hint("check `path` in the [database] section of the instance file"));
        }
        open_read_only(&self.path)
    }

    /// Copies the live database into `tmp` and checks the copy.
    fn write_checked(&self, tmp: &Path, progress: &dyn Fn(u64, u64)) -> Result<String> {
        let src = self.read_only()?;
        let written = (|| {
            let mut dst = create_copy(tmp)?;
            set_journal_mode(&dst, "off")?;
            dst.pragma_update(None, "synchronous", "OFF")?;
            copy(&src, &mut dst, progress, "db-backup-copy")?;
            set_journal_mode(&dst, "delete")?;
            dst.close().map_err(|(_, e)| e)
        })();
        written.map_err(|e| sqlite_error(e, &format!("cannot write backup {}", tmp.display())))?;
        File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error(e, &format!("cannot sync backup {}", tmp.display())))?;
        let (checked, sha256) = std::thread::scope(|s| {
            let sha = s.spawn(|| fsutil::sha256_file(tmp));
            let checked = integrity_check(tmp);
            (checked, sha.join())
        });
        checked?;
        sha256.map_err(|_| Error::failed(format!("hashing {} failed", tmp.display())))?
    }
}

impl Database for Sqlite {
    /// A lock file beside the database, `<file>.upshift-lock`: wherever the
    /// file is shared from, every upshift using it takes the same lock.
    fn lock(&self, what: &str) -> Result<Option<Box<dyn std::fmt::Debug + Send>>> {
        let mut name = self.path.clone().into_os_string();
        name.push(".upshift-lock");
        let lock = crate::support::lock::Lock::file(Path::new(&name), what, "database is busy")?;
        Ok(Some(Box::new(lock)))
    }

    fn describe(&self) -> String {
        format!("SQLite database {}", self.path.display())
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn size(&self) -> Result<u64> {
        let main = std::fs::metadata(&self.path)
            .input_context(|| format!("cannot read SQLite database {}", self.path.display()))?;
        let wal = std::fs::metadata(sidecar(&self.path, "-wal")).map_or(0, |m| m.len());
        Ok(main.len() + wal)
    }

    /// Proves the database is readable and that no other process holds
    /// its write lock for long (a restore or migration would need it): a
    /// `BEGIN IMMEDIATE` that is rolled back at once writes nothing.
    fn ping(&self) -> Result<()> {
        self.read_only()?;
        let what = || {
            format!(
                "cannot lock SQLite database {} for writing",
                self.path.display()
            )
        };
        let probe = (|| {
            let conn = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(PING_WAIT)?;
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
            conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
        })();
        probe.map_err(|e| {
            let locked = matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            );
            let error = Error::input(what()).caused_by(e);
            if locked {
                error.hint(format!(
                    "another process holds it locked (`fuser {}` names it); upshift waited {}",
                    self.path.display(),
                    humantime::format_duration(PING_WAIT)
                ))
            } else {
                error
            }
        })
    }

    fn backup(&self, dir: &Path, name: &str, progress: &dyn Fn(u64, u64)) -> Result<BackupFile> {
        fsutil::create_dirs(dir)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        let path = dir.join(name);
        remove_with_sidecars(&tmp);
        let finished = self.write_checked(&tmp, progress).and_then(|sha256| {
            std::fs::rename(&tmp, &path)
                .context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
            fsutil::sync_dir(dir)?;
            Ok(sha256)
        });
        let sha256 = finished.map_err(|e| {
            remove_with_sidecars(&tmp);
            if e.chain().contains(DISK_FULL) {
                e.hint(format!(
                    "free space in {} or point backups.dir elsewhere",
                    dir.display()
                ))
            } else {
                e
            }
        })?;
        let size = std::fs::metadata(&path)
            .context(|| format!("cannot read {}", path.display()))?
            .len();
        Ok(BackupFile { path, size, sha256 })
    }

    fn verify(&self, file: &Path) -> Result<()> {
        integrity_check(file)
    }

    fn restore(&self, file: &Path) -> Result<()> {
        self.verify(file)?;
        if !self.path.exists() {
            return Err(Error::failed(format!(
                "cannot restore into {}: the database file does not exist",
                self.path.display()
            ))
            .hint(format!(
                "check the [database] path; to start over from the backup, copy {} there",
                file.display()
            )));
        }
        let what = format!(
            "cannot restore {} from {}",
            self.path.display(),
            file.display()
        );
        let src = open_read_only(file)?;
        let restored = (|| {
            let mut live = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            live.busy_timeout(BUSY_WAIT)?;
            live.pragma_update(None, "synchronous", "FULL")?;
            copy(&src, &mut live, &|_, _| {}, "db-restore-copy")?;
            live.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            live.close().map_err(|(_, e)| e)
        })();
        restored.map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => sqlite_error(e, &what)
                .hint("stop the service: nothing may hold the database open during a restore"),
            _ => sqlite_error(e, &what),
        })?;
        File::open(&self.path)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error(e, &what))
    }

    fn content_checksum(&self) -> Result<String> {
        let conn = self.read_only()?;
        checksum(&conn).context(|| format!("cannot read {}", self.describe()))
    }

    fn backup_checksum(&self, backup: &Path) -> Result<Option<String>> {
        Sqlite::new(backup).content_checksum().map(Some)
    }

    fn query_scalar(&self, sql: &str) -> Result<serde_json::Value> {
        let conn = self.read_only()?;
        let at = || format!("query `{sql}` on {}", self.describe());
        let mut stmt = conn.prepare(sql).input_context(at)?;
        let mut rows = stmt.query([]).context(at)?;
        match rows.next().context(at)? {
            Some(row) => Ok(to_json(row.get_ref(0).context(at)?)),
            None => Ok(serde_json::Value::Null),
        }
    }

    fn as_cloneable(&self) -> Option<&dyn Cloneable> {
        Some(self)
    }
}

/// A clone's database is a new file at the same place in the clone's folder.
impl Cloneable for Sqlite {
    fn clone_name(&self, instance_dir: &Path, dir: &Path, _name: &str) -> Result<String> {
        Ok(match self.path.strip_prefix(instance_dir) {
            Ok(rel) => dir.join(rel).display().to_string(),
            Err(_) => self.path.display().to_string(),
        })
    }

    fn same_database(&self, other: &DatabaseConfig) -> Option<&'static str> {
        match other {
            DatabaseConfig::Sqlite { path } if path.path() == self.path => Some("database.path"),
            _ => None,
        }
    }

    fn files(&self) -> Vec<(&'static str, &Path)> {
        vec![("database.path", &self.path)]
    }

    /// Copies the verified backup into a hidden file beside the target with
    /// the backup API, proves its content equals the backup's, then renames
    /// it into place: a failed copy leaves no half database behind.
    fn restore_as_new(&self, backup: &Path, target: &DatabaseConfig) -> Result<()> {
        let DatabaseConfig::Sqlite { path } = target else {
            return Err(Error::input(format!(
                "cannot restore {} as a new database of another kind",
                self.describe()
            )));
        };
        let path = path.path();
        if path.exists() {
            return Err(Error::input(format!(
                "cannot restore into {}: it exists already",
                path.display()
            ))
            .hint("a new database is made only where there is none; remove the leftover first"));
        }
        self.verify(backup)?;
        let dir = fsutil::parent(path);
        std::fs::create_dir_all(dir)
            .map_err(|e| io_error(e, &format!("cannot create folder {}", dir.display())))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.tmp"));
        remove_with_sidecars(&tmp);
        let what = format!("cannot restore {} as {}", backup.display(), path.display());
        let made = (|| {
            let src = open_read_only(backup)?;
            let copied = (|| {
                let mut dst = create_copy(&tmp)?;
                copy(&src, &mut dst, &|_, _| {}, "db-restore-new-copy")?;
                dst.close().map_err(|(_, e)| e)
            })();
            copied.map_err(|e| sqlite_error(e, &what))?;
            File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_error(e, &what))?;
            let (want, got) = (
                Sqlite::new(backup).content_checksum()?,
                Sqlite::new(&tmp).content_checksum()?,
            );
            if want != got {
                return Err(Error::failed(format!(
                    "{what}: the copy's content checksum is {got}, the backup's {want}"
                )));
            }
            std::fs::rename(&tmp, path).map_err(|e| io_error(e, &what))?;
            fsutil::sync_dir(dir)
        })();
        made.inspect_err(|_| remove_with_sidecars(&tmp))
    }

    fn execute(&self, sql: &str) -> Result<()> {
        self.read_only()?;
        let at = || format!("`{sql}` on {}", self.describe());
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context(at)?;
        conn.busy_timeout(BUSY_WAIT).context(at)?;
        conn.execute_batch(sql).input_context(at)
    }

    fn destroy(&self) -> Result<()> {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let file = sidecar(&self.path, suffix);
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_error(e, &format!("cannot remove {}", file.display())))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Opens (creating) the temporary file a copy is written to, never through
/// a symlink: it may sit in a folder the service's user can write to.
fn create_copy(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Opens an existing file read-only; never creates it.
fn open_read_only(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .context(|| format!("cannot open SQLite database {}", path.display()))?;
    conn.busy_timeout(BUSY_WAIT)
        .context(|| format!("cannot configure {}", path.display()))?;
    Ok(conn)
}

/// Copies every page of `from` into `to`; `progress` gets bytes done and total.
/// Copies every page with the online backup API. `failpoint` names the
/// point a fault-injection test may stop at after the first pages were
/// written and before the copy commits.
fn copy(
    from: &Connection,
    to: &mut Connection,
    progress: &dyn Fn(u64, u64),
    failpoint: &str,
) -> rusqlite::Result<()> {
    let page_size = from.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))? as u64;
    let backup = Backup::new(from, to)?;
    let deadline = Instant::now() + BUSY_WAIT;
    loop {
        let step = backup.step(STEP_PAGES)?;
        crate::support::failpoint::hit(failpoint).map_err(|e| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some(e.to_string()),
            )
        })?;
        let p = backup.progress();
        let total = p.pagecount.max(0) as u64;
        let done = total.saturating_sub(p.remaining.max(0) as u64);
        match step {
            StepResult::Done => {
                progress(total * page_size, total * page_size);
                return Ok(());
            }
            StepResult::More => progress(done * page_size, total * page_size),
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!(
                        "the database stayed locked for {}",
                        humantime::format_duration(BUSY_WAIT)
                    )),
                ))
            }
        }
    }
}

/// Sets the journal mode of a connection we write through.
fn set_journal_mode(conn: &Connection, mode: &str) -> rusqlite::Result<()> {
    conn.pragma_update_and_check(None, "journal_mode", mode, |_| Ok(()))
}

/// Runs `PRAGMA integrity_check` on a file; an error quotes what it said.
fn integrity_check(file: &Path) -> Result<()> {
    if !file.is_file() {
        return Err(Error::input(format!(
            "backup {} does not exist",
            file.display()
        )));
    }
    let conn = open_read_only(file)?;
    let report = (|| {
        conn.pragma_update_and_check(None, "mmap_size", 1i64 << 30, |_| Ok(()))?;
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt.query_map([], |r| r.get::<_, String>(0))?;
        lines.collect::<rusqlite::Result<Vec<String>>>()
    })();
    let refused = |said: String| {
        Error::failed(format!(
            "{} failed its integrity check: {said}",
            file.display()
        ))
        .hint("this file cannot be trusted; use another backup")
    };
    match report {
        Ok(lines) if lines == ["ok"] => Ok(()),
        Ok(lines) => Err(refused(
            lines.iter().take(5).cloned().collect::<Vec<_>>().join("; "),
        )),
        Err(e) => Err(refused(e.to_string())),
    }
}

/// SHA-256 over the schema and every row of every table.
fn checksum(conn: &Connection) -> rusqlite::Result<String> {
    let mut hasher = Sha256::new();
    let mut stmt = conn.prepare(
        "SELECT m.type, m.name, m.sql, coalesce(l.type, ''), coalesce(l.wr, 0)
         FROM sqlite_master m
         LEFT JOIN pragma_table_list l ON l.schema = 'main' AND l.name = m.name
         WHERE m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         ORDER BY m.name, m.type",
    )?;
    let objects = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (kind, name, sql, list_type, without_rowid) in objects {
        for text in [&kind, &name, sql.as_deref().unwrap_or("")] {
            hash_value(&mut hasher, ValueRef::Text(text.as_bytes()));
        }
        // Virtual tables keep their rows in shadow tables, hashed themselves.
        if kind != "table" || !matches!(list_type.as_str(), "table" | "shadow") {
            continue;
        }
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let order = if without_rowid {
            let n = conn
                .prepare(&format!("SELECT * FROM {quoted}"))?
                .column_count();
            (1..=n)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            "rowid".to_string()
        };
        let mut rows_stmt = conn.prepare(&format!("SELECT * FROM {quoted} ORDER BY {order}"))?;
        let columns = rows_stmt.column_count();
        let mut rows = rows_stmt.query([])?;
        while let Some(row) = rows.next()? {
            hasher.update(b"R");
            for i in 0..columns {
                hash_value(&mut hasher, row.get_ref(i)?);
            }
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Feeds one value with its type tag and length, so no two different
/// sequences of values hash alike.
fn hash_value(hasher: &mut Sha256, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => hasher.update(b"N"),
        ValueRef::Integer(i) => {
            hasher.update(b"I");
            hasher.update(i.to_be_bytes());
        }
        ValueRef::Real(f) => {
            hasher.update(b"F");
            hasher.update(f.to_bits().to_be_bytes());
        }
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            hasher.update(if matches!(value, ValueRef::Text(_)) {
                b"T"
            } else {
                b"B"
            });
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        }
    }
}

/// A SQLite value as JSON; blobs as lowercase hex.
fn to_json(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => {
            serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
        }
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => hex::encode(b).into(),
    }
}

/// A SQLite error as ours; a full disk is said plainly.
fn sqlite_error(e: rusqlite::Error, what: &str) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => Error::failed(format!("{what}: {DISK_FULL}")),
        _ => Error::failed(what.to_string()).caused_by(e),
    }
}

/// An I/O error as ours; a full disk is said plainly.
fn io_error(e: std::io::Error, what: &str) -> Error {
    if e.raw_os_error() == Some(nix::errno::Errno::ENOSPC as i32) {
        Error::failed(format!("{what}: {DISK_FULL}"))
    } else {
        Error::failed(what.to_string()).caused_by(e)
    }
}

/// `path` with a suffix such as `-wal` appended to its file name.
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a temporary database and whatever SQLite may have left beside it.
fn remove_with_sidecars(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(path, suffix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_never_created_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let tmp = dir.path().join(".db.tmp");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        assert!(create_copy(&tmp).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
    use std::cell::Cell;
    use std::process::Command;

    /// A WAL-mode database with a rowid table, a WITHOUT ROWID table, an
    /// index and `rows` rows carrying `blob` bytes each.
    fn sample(dir: &Path, rows: i64, blob: usize) -> Sqlite {
        let path = dir.join("live.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL, data BLOB, note);
             CREATE INDEX items_name ON items(name);
             CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
             INSERT INTO kv VALUES ('a', 1), ('b', 'two'), ('c', NULL);",
        )
        .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        for i in 0..rows {
            tx.execute(
                "INSERT INTO items(name, price, data, note) VALUES (?1, ?2, ?3, NULL)",
                rusqlite::params![
                    format!("item {i}"),
                    i as f64 / 4.0,
                    vec![(i % 251) as u8; blob]
                ],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        Sqlite::new(&path)
    }

    fn write(db: &Sqlite, sql: &str) {
        Connection::open_with_flags(&db.path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    #[test]
    fn backup_is_checked_hashed_and_self_contained() {
        let dir = tempfile::tempdir().unwrap();
        let db = sample(dir.path(), 500, 100);
        let backups = dir.path().join("backups");
        let last = Cell::new((0, 0));
        let calls = Cell::new(0);
        let file = db
            .backup(&backups, "db-1.sqlite", &|done, total| {
                last.set((done, total));
                calls.set(calls.get() + 1);
            })
            .unwrap();
        assert_eq!(file.path, backups.join("db-1.sqlite"));
        assert_eq!(file.sha256, fsutil::sha256_file(&file.path).unwrap());
        assert_eq!(file.size, std::fs::metadata(&file.path).unwrap().len());
        let (done, total) = last.get();
        assert!(calls.get() >= 1 && done == total && total == file.size);
        db.verify(&file.path).unwrap();
        assert_eq!(
            Sqlite::new(&file.path).content_checksum().unwrap(),
            db.content_checksum().unwrap()
        );
        // Only the backup itself: no temporary file, no -wal/-shm beside it,
        // and a rollback-journal header (bytes 18 and 19 are 1).
        let names: Vec<_> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["db-1.sqlite"]);
        let bytes = std::fs::read(&file.path).unwrap();
        assert_eq!(&bytes[18..20], &[1, 1]);
    }

    #[test]
    fn restore_brings_back_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let db = sample(dir.path(), 200, 50);
        let before = db.content_checksum().unwrap();
        let file = db.backup(dir.path(), "b.sqlite", &|_, _| {}).unwrap();
        write(
            &db,
            "UPDATE items SET name = 'changed' WHERE id = 7;
             DELETE FROM items WHERE id > 150;
             INSERT INTO kv VALUES ('d', 4);
             CREATE TABLE added(x);",
        );
        assert_ne!(db.content_checksum().unwrap(), before);
        db.restore(&file.path).unwrap();
        assert_eq!(db.content_checksum().unwrap(), before);
        assert_eq!(
            db.query_scalar("SELECT journal_mode FROM pragma_journal_mode")
                .unwrap(),
            "wal"
        );
    }

    #[test]
    fn restore_refuses_a_corrupt_backup_and_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = sample(dir.path(), 400, 200);
        let file = db.backup(dir.path(), "b.sqlite", &|_, _| {}).unwrap();
        let mut bytes = std::fs::read(&file.path).unwrap();
        let page = 4096;
        let middle = bytes.len() / 2 / page * page;
        for b in &mut bytes[middle..middle + page] {
            *b ^= 0xA5;
        }
        std::fs::write(&file.path, &bytes).unwrap();
        write(&db, "DELETE FROM items WHERE id % 2 = 0;");
        let live = db.content_checksum().unwrap();

        let err = db.verify(&file.path).unwrap_err();
        assert!(err.chain().contains("integrity check"), "{}", err.chain());
        let err = db.restore(&file.path).unwrap_err();
        assert!(err.chain().contains("b.sqlite"), "{}", err.chain());
        assert_eq!(db.content_checksum().unwrap(), live);
    }

    /// A 1 MiB tmpfs, unmounted when dropped.
    struct Tmpfs(PathBuf);

    impl Tmpfs {
        fn mount(at: &Path) -> std::result::Result<Tmpfs, String> {
            std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
            let out = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
                .arg(at)
                .output()
                .map_err(|e| e.to_string())?;
            match out.status.success() {
                true => Ok(Tmpfs(at.to_path_buf())),
                false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
            }
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }

    #[test]
    fn backup_on_a_full_disk_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let db = sample(dir.path(), 1500, 2000);
        assert!(db.size().unwrap() > 2 << 20);
        let small = dir.path().join("small");
        let _mounted = match Tmpfs::mount(&small) {
            Ok(m) => m,
            Err(why) => {
                eprintln!("skipped: cannot mount a 1 MiB tmpfs ({why})");
                return;
            }
        };
        let err = db.backup(&small, "db.sqlite", &|_, _| {}).unwrap_err();
        assert!(
            err.chain().contains("no space left on device"),
            "{}",
            err.chain()
        );
        assert!(err.chain().contains(".db.sqlite.tmp"), "{}", err.chain());
        assert!(err.hint_text().unwrap().contains("backups.dir"));
        assert_eq!(std::fs::read_dir(&small).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_database_is_an_error_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing.db");
        let db = Sqlite::new(&path);
        assert_eq!(db.ping().unwrap_err().kind(), crate::ErrorKind::Input);
        assert!(db.size().is_err());
        assert!(db.content_checksum().is_err());
        assert!(db.query_scalar("SELECT 1").is_err());
        assert!(db.backup(dir.path(), "b", &|_, _| {}).is_err());
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn restore_as_new_makes_an_equal_database_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = sample(dir.path(), 40, 8);
        let file = db.backup(dir.path(), "b.db", &|_, _| {}).unwrap();
        let target = dir.path().join("clone/data/new.db");
        let cfg = DatabaseConfig::Sqlite {
            path: crate::config::FilePath::from_path(&target),
        };
        db.restore_as_new(&file.path, &cfg).unwrap();
        let clone = Sqlite::new(&target);
        assert_eq!(
            clone.content_checksum().unwrap(),
            db.content_checksum().unwrap()
        );
        clone.execute("DELETE FROM kv WHERE k = 'a'").unwrap();
        assert_ne!(
            clone.content_checksum().unwrap(),
            db.content_checksum().unwrap()
        );
        let err = db.restore_as_new(&file.path, &cfg).unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");
        assert!(clone.execute("DELETE FROM nope").is_err());
        clone.destroy().unwrap();
        assert!(!target.exists());
        clone.destroy().unwrap();
    }

    #[test]
    fn checksum_follows_every_value_and_its_type() {
        let dir = tempfile::tempdir().unwrap();
        let db = sample(dir.path(), 50, 10);
        db.ping().unwrap();
        let file = db.backup(dir.path(), "copy.db", &|_, _| {}).unwrap();
        let copy = Sqlite::new(&file.path);
        let original = db.content_checksum().unwrap();
        assert_eq!(copy.content_checksum().unwrap(), original);
        for (change, undo) in [
            (
                "UPDATE items SET price = 1.5 WHERE id = 30",
                "UPDATE items SET price = 7.25 WHERE id = 30",
            ),
            (
                "UPDATE kv SET v = '1' WHERE k = 'a'",
                "UPDATE kv SET v = 1 WHERE k = 'a'",
            ),
            (
                "UPDATE items SET data = x'00' WHERE id = 1",
                "UPDATE items SET data = x'00000000000000000000' WHERE id = 1",
            ),
        ] {
            write(&copy, change);
            assert_ne!(copy.content_checksum().unwrap(), original, "{change}");
            write(&copy, undo);
            assert_eq!(copy.content_checksum().unwrap(), original, "{undo}");
        }
    }

    #[test]
    fn query_scalar_gives_json() {
        let dir = tempfile::tempdir().unwrap();
        let db = sample(dir.path(), 3, 2);
        let q = |sql: &str| db.query_scalar(sql).unwrap();
        assert_eq!(q("SELECT count(*) FROM items"), 3);
        assert_eq!(q("SELECT price FROM items WHERE id = 3"), 0.5);
        assert_eq!(q("SELECT name FROM items WHERE id = 2"), "item 1");
        assert_eq!(q("SELECT data FROM items WHERE id = 2"), "0101");
        assert_eq!(q("SELECT note FROM items"), serde_json::Value::Null);
        assert_eq!(
            q("SELECT 1 FROM items WHERE id = 99"),
            serde_json::Value::Null
        );
        assert!(db.query_scalar("DELETE FROM items").is_err());
        assert!(db.query_scalar("SELEC nonsense").is_err());
        assert_eq!(q("SELECT count(*) FROM items"), 3);
    }
}
