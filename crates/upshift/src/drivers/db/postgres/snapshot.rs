//! The `snapshot` strategy: a copy of the live database inside the cluster.
//!
//! In the window (the service stopped, no other session on the live
//! database) `CREATE DATABASE <db>__snap_<time> TEMPLATE <db>` makes the copy,
//! a file copy on the server, much faster than a dump. The backup file is a
//! small JSON marker naming the snapshot, the database it was taken of and
//! the snapshot's content checksum; the catalog's SHA-256 is the marker's.
//! The snapshot is sealed (`ALLOW_CONNECTIONS false`) once its checksum is
//! taken, so nothing can change it afterwards; a restore checks the seal,
//! not the content, and swaps the snapshot in under the live name: seconds,
//! whatever the size. Its database OID, kept in the marker, survives the
//! rename, so a restore repeated after a crash knows it is already done. The snapshot is consumed by that (it *is* the live database
//! afterwards). After the window, [`Postgres::finalize_snapshot`] makes the
//! portable dump from the snapshot; retention drops the snapshot with its
//! marker. The snapshot is as large as the live database, on the server's
//! disk, which upshift cannot measure from a client: see `docs/postgres.md`.

use super::conn::{in_use, pg_error};
use super::names::{derived, ident};
use super::Postgres;
use crate::drivers::db::BackupFile;
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

/// The `kind` of a marker file.
const KIND: &str = "postgres-snapshot";
/// How long the copy is retried while a session keeps coming back.
const CREATE_WAIT: Duration = Duration::from_secs(30);

/// The marker file of a snapshot.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Marker {
    kind: String,
    /// The snapshot database.
    database: String,
    /// The database it is a copy of.
    of: String,
    /// Its content checksum when it was taken.
    content_checksum: String,
    /// The snapshot database's OID (it keeps it when renamed to the live name).
    #[serde(default)]
    oid: Option<u32>,
}

impl Marker {
    /// The snapshot's content checksum when it was taken.
    pub(super) fn content_checksum(&self) -> &str {
        &self.content_checksum
    }

    /// The snapshot database's name.
    pub(super) fn database(&self) -> &str {
        &self.database
    }

    /// Reads a marker file; anything else is refused.
    pub(super) fn read(path: &Path) -> Result<Marker> {
        let not_ours = || {
            Error::input(format!(
                "{} is neither a pg_dump folder nor a PostgreSQL snapshot marker",
                path.display()
            ))
            .hint("was this backup made by another database driver?")
        };
        let text = std::fs::read(path).context(|| format!("cannot read {}", path.display()))?;
        match serde_json::from_slice::<Marker>(&text) {
            Ok(m) if m.kind == KIND => Ok(m),
            _ => Err(not_ours()),
        }
    }
}

impl Postgres {
    /// Takes a snapshot of the live database; writes its marker `dir/name`.
    pub(super) fn snapshot(
        &self,
        dir: &Path,
        name: &str,
        progress: &dyn Fn(u64, u64),
    ) -> Result<BackupFile> {
        let path = dir.join(name);
        if path.exists() {
            return Err(Error::failed(format!(
                "backup {} exists already",
                path.display()
            )));
        }
        fsutil::create_dirs(dir)?;
        let live = &self.cfg.dbname;
        let mut admin = self.connect_admin()?;
        if !self.exists(&mut admin, live)? {
            return Err(Error::input(format!(
                "{}: the database does not exist",
                self.at_live("snapshot")
            ))
            .hint("check `dbname` in the [database] section"));
        }
        let total: i64 = super::conn::one_with(
            &mut admin,
            "SELECT pg_database_size($1)",
            &[live],
            &self.at_live("reading the database size"),
        )?;
        let total = total.max(0) as u64;
        progress(0, total);
        let snap = derived(live, "snap");
        let at = self.at(&snap, &format!("cannot copy {live} into a snapshot"));
        let deadline = Instant::now() + CREATE_WAIT;
        loop {
            self.clear_for_backup(&mut admin)?;
            let sql = format!("CREATE DATABASE {} TEMPLATE {}", ident(&snap), ident(live));
            match admin.batch_execute(&sql) {
                Ok(()) => break,
                Err(e) if in_use(&e) && Instant::now() < deadline => continue,
                Err(e) => {
                    return Err(pg_error(e, &at).hint(
                        "a snapshot needs CREATEDB, ownership of the live database (or \
                         superuser), no other session on it, and disk space on the server \
                         for a full copy",
                    ))
                }
            }
        }
        let marked = crate::support::failpoint::hit("db-backup-copy")
            .and_then(|()| self.checksum_of(&snap))
            .and_then(|content_checksum| {
                let oid = self.seal(&mut admin, &snap, false)?;
                let marker = Marker {
                    kind: KIND.into(),
                    database: snap.clone(),
                    of: live.clone(),
                    content_checksum,
                    oid: Some(oid),
                };
                let bytes = serde_json::to_vec_pretty(&marker)
                    .context(|| format!("cannot encode the marker of {snap}"))?;
                fsutil::atomic_write(&path, &bytes, 0o600)?;
                Ok(BackupFile {
                    path: path.clone(),
                    size: total,
                    sha256: fsutil::sha256_bytes(&bytes),
                })
            });
        let file = marked.inspect_err(|_| {
            let _ = self.drop_database(&mut admin, &snap);
        })?;
        progress(total, total);
        Ok(file)
    }

    /// The snapshot exists, belongs to this database and accepts connections.
    pub(super) fn verify_snapshot(&self, file: &Path, marker: &Marker) -> Result<()> {
        if marker.of != self.cfg.dbname {
            return Err(Error::input(format!(
                "{} is a snapshot of database {}, not of {}",
                file.display(),
                marker.of,
                self.cfg.dbname
            )));
        }
        let mut admin = self.connect_admin()?;
        let row = admin
            .query_opt(
                "SELECT oid::int8, datallowconn FROM pg_database WHERE datname = $1",
                &[&marker.database],
            )
            .map_err(|e| pg_error(e, &self.at(&marker.database, "looking up the snapshot")))?;
        let Some(row) = row else {
            return Err(Error::input(format!(
                "snapshot {} of {} is gone (dropped, or consumed by a restore)",
                marker.database,
                file.display()
            ))
            .hint("use another backup"));
        };
        let (oid, open): (i64, bool) = (row.get(0), row.get(1));
        // A snapshot someone opened since it was sealed is not the backup any
        // more: refuse it before it replaces the live database.
        if open || marker.oid.is_some_and(|o| i64::from(o) != oid) {
            return Err(Error::input(format!(
                "snapshot {} of {} is no longer sealed as upshift left it",
                marker.database,
                file.display()
            ))
            .hint("something re-opened or replaced the snapshot database; use another backup"));
        }
        Ok(())
    }

    /// Seals (`open = false`) or opens a snapshot database; returns its OID.
    fn seal(&self, admin: &mut postgres::Client, db: &str, open: bool) -> Result<u32> {
        let at = self.at(
            db,
            if open {
                "opening the snapshot"
            } else {
                "sealing the snapshot"
            },
        );
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {} WITH ALLOW_CONNECTIONS {open}",
                ident(db)
            ))
            .map_err(|e| pg_error(e, &at))?;
        let oid: i64 = super::conn::one_with(
            admin,
            "SELECT oid::int8 FROM pg_database WHERE datname = $1",
            &[&db],
            &at,
        )?;
        Ok(oid as u32)
    }

    /// Whether the live database is this snapshot already (restored before a
    /// crash kept the journal from saying so).
    fn is_live(&self, admin: &mut postgres::Client, marker: &Marker) -> Result<bool> {
        let Some(oid) = marker.oid else {
            return Ok(false);
        };
        let live: Option<i64> = admin
            .query_opt(
                "SELECT oid::int8 FROM pg_database WHERE datname = $1",
                &[&self.cfg.dbname],
            )
            .map_err(|e| pg_error(e, &self.at_live("looking up the live database")))?
            .map(|r| r.get(0));
        Ok(live == Some(i64::from(oid)))
    }

    /// Renames the snapshot into the live database's place.
    /// The sealed snapshot is renamed in, then opened under the live name;
    /// repeated after a crash, it only opens the live database again.
    pub(super) fn restore_snapshot(&self, file: &Path, marker: &Marker) -> Result<()> {
        let mut admin = self.connect_admin()?;
        if !self.is_live(&mut admin, marker)? {
            self.verify_snapshot(file, marker)?;
            crate::support::failpoint::hit("db-restore-copy")?;
            self.swap_into_live(&mut admin, &marker.database)?;
        }
        self.seal(&mut admin, &self.cfg.dbname, true).map(|_| ())
    }

    /// Whether the live database is the snapshot `file` names already.
    pub(super) fn snapshot_is_live(&self, marker: &Marker) -> Result<bool> {
        let mut admin = self.connect_admin()?;
        self.is_live(&mut admin, marker)
    }

    /// The portable, verified dump of a snapshot, as `dir/name`.
    pub(super) fn finalize_snapshot(
        &self,
        marker: &Marker,
        dir: &Path,
        name: &str,
    ) -> Result<BackupFile> {
        let mut admin = self.connect_admin()?;
        let size: i64 = super::conn::one_with(
            &mut admin,
            "SELECT pg_database_size($1)",
            &[&marker.database],
            &self.at(&marker.database, "reading the snapshot's size"),
        )?;
        // Opened for the dump only, and sealed again whatever happened.
        self.seal(&mut admin, &marker.database, true)?;
        let dumped = self.dump_to(&marker.database, dir, name, size.max(0) as u64, &|_, _| {});
        self.seal(&mut admin, &marker.database, false)?;
        dumped
    }

    /// Drops the snapshot, then removes its marker.
    pub(super) fn discard_snapshot(&self, file: &Path, marker: &Marker) -> Result<()> {
        let mut admin = self.connect_admin()?;
        self.drop_database(&mut admin, &marker.database)?;
        std::fs::remove_file(file).context(|| format!("cannot remove {}", file.display()))
    }
}
