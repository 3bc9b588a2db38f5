//! The `dump` strategy: a verified `pg_dump` directory.
//!
//! A backup is a folder written by `pg_dump --format=directory --jobs=N`
//! into a hidden temporary name, checked with `pg_restore --list`, given a
//! manifest (`upshift-manifest.sha256`, in `sha256sum` format: one line per
//! file) and only then renamed into place. The catalog keeps one path and
//! one SHA-256: the folder, and the SHA-256 of its manifest, which pins
//! every file through theirs. Verifying rechecks every file against the
//! manifest (a changed, missing or extra file is refused) and runs
//! `pg_restore --list` again; `--list` reads only the table of contents, so
//! the data files are covered by their checksums.
//!
//! A restore verifies first, then restores into a fresh database with the
//! live one's owner, encoding and collation, in parallel, stopping at the
//! first error, and only then swaps the names. A failed restore drops the
//! fresh database and leaves the live one untouched.

use super::names::{derived, ident, literal};
use super::Postgres;
use crate::drivers::db::BackupFile;
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The manifest inside every dump folder.
pub(super) const MANIFEST: &str = "upshift-manifest.sha256";
/// How a full disk is said by the tools and by the OS.
const DISK_FULL: &str = "No space left on device";

/// The SHA-256 the catalog keeps for a dump folder: that of its manifest.
pub(super) fn manifest_sha256(dump: &Path) -> Result<String> {
    fsutil::sha256_file(&dump.join(MANIFEST))
}

impl Postgres {
    /// Dumps database `db` into `dir/name`, verified; `total` is its size,
    /// for progress.
    pub(super) fn dump_to(
        &self,
        db: &str,
        dir: &Path,
        name: &str,
        total: u64,
        progress: &dyn Fn(u64, u64),
    ) -> Result<BackupFile> {
        fsutil::create_dirs(dir)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        let path = dir.join(name);
        let _ = std::fs::remove_dir_all(&tmp);
        let written = self
            .write_dump(db, &tmp, total, progress)
            .and_then(|(size, sha256)| {
                if path.exists() {
                    return Err(Error::failed(format!(
                        "backup {} exists already",
                        path.display()
                    )));
                }
                std::fs::rename(&tmp, &path)
                    .context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
                fsutil::sync_dir(dir)?;
                Ok(BackupFile { path, size, sha256 })
            });
        written.map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            match e.chain().contains(DISK_FULL) {
                true => e.hint(format!(
                    "free space in {} or point backups.dir elsewhere",
                    dir.display()
                )),
                false => e,
            }
        })
    }

    /// pg_dump, `pg_restore --list`, manifest; returns size and SHA-256.
    fn write_dump(
        &self,
        db: &str,
        tmp: &Path,
        total: u64,
        progress: &dyn Fn(u64, u64),
    ) -> Result<(u64, String)> {
        let pg_dump = self.tool("pg_dump")?;
        let mut args: Vec<OsString> = vec![
            "--format=directory".into(),
            format!("--jobs={}", self.jobs()).into(),
            "--file".into(),
            tmp.into(),
        ];
        args.extend(self.connection_args(db));
        progress(0, total);
        self.run_tool(&pg_dump, &args, &self.at(db, "pg_dump"), &|| {
            progress(folder_size(tmp).min(total), total)
        })?;
        self.list_dump(tmp)?;
        let manifest = write_manifest(tmp)?;
        progress(total, total);
        Ok(manifest)
    }

    /// `pg_restore --list`: the table of contents is complete and readable.
    fn list_dump(&self, dump: &Path) -> Result<()> {
        let pg_restore = self.tool("pg_restore")?;
        let at = format!("pg_restore --list {}", dump.display());
        self.run_tool(&pg_restore, &["--list".into(), dump.into()], &at, &|| {})
            .map(|_| ())
            .map_err(|e| e.hint("this backup cannot be trusted; use another"))
    }

    /// Every file against the manifest, then the table of contents.
    pub(super) fn verify_dump(&self, dump: &Path) -> Result<()> {
        check_manifest(dump)?;
        self.list_dump(dump)
    }

    /// Restores a dump into a fresh database, then swaps it into place.
    pub(super) fn restore_dump(&self, dump: &Path) -> Result<()> {
        self.verify_dump(dump)?;
        let pg_restore = self.tool("pg_restore")?;
        let mut admin = self.connect_admin()?;
        let live = &self.cfg.dbname;
        let fresh = derived(live, "restore");
        let like = self.like_live(&mut admin)?;
        super::conn::execute(
            &mut admin,
            &format!(
                "CREATE DATABASE {} {like} TEMPLATE template0",
                ident(&fresh)
            ),
            &self.at(&fresh, "cannot create the database to restore into"),
        )
        .map_err(|e| e.hint("a restore needs CREATEDB; the live database was not touched"))?;
        let mut args: Vec<OsString> = vec![
            format!("--jobs={}", self.jobs()).into(),
            "--exit-on-error".into(),
        ];
        args.extend(self.connection_args(&fresh));
        args.push(dump.into());
        let restored = self
            .run_tool(&pg_restore, &args, &self.at(&fresh, "pg_restore"), &|| {})
            .and_then(|_| self.swap_into_live(&mut admin, &fresh));
        restored.map_err(|e| {
            let _ = self.drop_database(&mut admin, &fresh);
            e.hint(format!(
                "the live database {live} was not changed; the partial restore was dropped"
            ))
        })
    }

    /// `OWNER .. ENCODING .. LC_COLLATE .. LC_CTYPE ..` of the live database
    /// (empty if it is gone: then the server's defaults and our role).
    pub(super) fn like_live(&self, admin: &mut postgres::Client) -> Result<String> {
        let row = admin
            .query_opt(
                "SELECT pg_get_userbyid(datdba)::text, pg_encoding_to_char(encoding)::text,
                        datcollate::text, datctype::text
                 FROM pg_database WHERE datname = $1",
                &[&self.cfg.dbname],
            )
            .map_err(|e| {
                super::conn::pg_error(e, &self.at_live("reading the database's settings"))
            })?;
        Ok(match row {
            Some(r) => format!(
                "OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {}",
                ident(r.get(0)),
                literal(r.get(1)),
                literal(r.get(2)),
                literal(r.get(3))
            ),
            None => String::new(),
        })
    }
}

/// Bytes of the files in a folder (0 if it is not there yet).
fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The files of a dump folder (not the manifest), sorted by name.
fn dump_files(dump: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dump).context(|| format!("cannot read folder {}", dump.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("cannot read folder {}", dump.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MANIFEST {
            continue;
        }
        if !entry.path().is_file() {
            return Err(Error::failed(format!(
                "dump {}: {name} is not a file",
                dump.display()
            )));
        }
        files.push((name, entry.path()));
    }
    files.sort();
    Ok(files)
}

/// Writes the manifest; returns the size of the whole dump and the
/// manifest's SHA-256.
fn write_manifest(dump: &Path) -> Result<(u64, String)> {
    let mut text = String::new();
    let mut size = 0;
    for (name, path) in dump_files(dump)? {
        text.push_str(&format!("{}  {name}\n", fsutil::sha256_file(&path)?));
        size += std::fs::metadata(&path)
            .context(|| format!("cannot read {}", path.display()))?
            .len();
    }
    fsutil::atomic_write(&dump.join(MANIFEST), text.as_bytes(), 0o600)?;
    Ok((
        size + text.len() as u64,
        fsutil::sha256_bytes(text.as_bytes()),
    ))
}

/// Checks every file of a dump against its manifest.
fn check_manifest(dump: &Path) -> Result<()> {
    let refused = |what: String| {
        Error::failed(format!("backup {}: {what}", dump.display()))
            .hint("this backup cannot be trusted; use another")
    };
    let text = std::fs::read_to_string(dump.join(MANIFEST))
        .map_err(|e| refused(format!("cannot read its manifest {MANIFEST}: {e}")))?;
    let mut listed = std::collections::BTreeMap::new();
    for line in text.lines() {
        match line.split_once("  ") {
            Some((sha, name)) => listed.insert(name.to_string(), sha.to_string()),
            None => return Err(refused(format!("{MANIFEST} has a bad line {line:?}"))),
        };
    }
    let files = dump_files(dump)?;
    if let Some((name, _)) = files.iter().find(|(n, _)| !listed.contains_key(n)) {
        return Err(refused(format!("{name} is not in the manifest")));
    }
    for (name, want) in &listed {
        let path = dump.join(name);
        if !path.is_file() {
            return Err(refused(format!("{name} is missing")));
        }
        let got = fsutil::sha256_file(&path)?;
        if &got != want {
            return Err(refused(format!(
                "{name} has SHA-256 {got}, the manifest says {want}"
            )));
        }
    }
    Ok(())
}
