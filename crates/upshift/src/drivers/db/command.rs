//! A database driven by the operator's own commands (`[database] kind =
//! "command"`): SQL Server through `sqlcmd`, MariaDB through `mariadb-dump`,
//! anything with a command-line client. See `docs/command-database.md`.
//!
//! Design decisions:
//! - The commands do the engine's work; upshift keeps the same promises as
//!   for its built-in drivers around them. A backup is written by `backup`
//!   to a hidden temporary name in the backups folder, checked by `verify`,
//!   fsynced and hashed, and only then renamed into place; a failure of
//!   either command (or a command that exits 0 without writing a file)
//!   leaves nothing behind and names the command with its stderr tail.
//! - Beside each backup `<name>` lies a sidecar `<name>.upshift.json` with
//!   the backup's SHA-256 and size and, when a `checksum` command is given,
//!   the content checksum of the live data taken just before the backup
//!   command ran (inside a run the service is stopped then, so it is what
//!   the backup holds). The catalog's SHA-256 is the sidecar's, so the
//!   catalog pins the sidecar and the sidecar pins the backup: verifying
//!   checks both hashes, then runs `verify`.
//! - A restore is proven by comparing the content checksum after `restore`
//!   with the sidecar's ([`Database::backup_checksum`]). It is never
//!   skipped as "restored already", though: a checksum written by an
//!   operator may miss what a migration changed, and a skipped restore would
//!   then leave migrated data under old binaries. Running `restore` again
//!   after a crash is always possible: the backup file is not consumed.
//! - The content checksum is the SHA-256 of what `checksum` printed (lines
//!   stripped of trailing white space), so the command may print anything
//!   that is equal for equal content: per-table checksums, a dump's hash.
//! - Credentials reach the commands only through `[database.env]`, resolved
//!   when a command runs; every secret value read is remembered, so stderr
//!   tails in errors are scrubbed of it.
//! - upshift cannot know the database's size: [`Database::size`] is 0, so
//!   the disk-space check before a backup asks only for its headroom.

use super::{BackupFile, Database};
use crate::config::{CommandDbConfig, EnvValue};
use crate::support::cmd;
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use crate::support::template::Vars;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Appended to a backup's file name to name its sidecar.
const SIDECAR: &str = ".upshift.json";

/// A database backed up, verified and restored by commands.
#[derive(Debug)]
pub struct CommandDb {
    cfg: CommandDbConfig,
    /// The instance file's folder: where the commands run.
    dir: PathBuf,
}

/// What upshift records beside a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    /// SHA-256 of the backup file.
    sha256: String,
    size: u64,
    /// The live content's checksum when the backup was taken.
    content_checksum: Option<String>,
}

impl Sidecar {
    fn read(backup: &Path) -> Result<Sidecar> {
        let path = sidecar_of(backup);
        let text = std::fs::read(&path).map_err(|e| {
            Error::failed(format!(
                "backup {}: cannot read its sidecar {}: {e}",
                backup.display(),
                path.display()
            ))
            .hint("without it the backup cannot be checked; use another")
        })?;
        serde_json::from_slice(&text).map_err(|e| {
            Error::failed(format!("backup {}: bad sidecar: {e}", backup.display()))
                .hint("the sidecar was changed; use another backup")
        })
    }
}

/// `<backup>.upshift.json`.
fn sidecar_of(backup: &Path) -> PathBuf {
    let mut name = backup.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR);
    backup.with_file_name(name)
}

impl CommandDb {
    /// The database `cfg` describes; its commands run in `dir`.
    pub fn new(cfg: &CommandDbConfig, dir: &Path) -> Self {
        CommandDb {
            cfg: cfg.clone(),
            dir: dir.to_path_buf(),
        }
    }

    /// `[database.env]`, secrets resolved (and remembered for scrubbing).
    fn env(&self) -> Result<Vec<(String, String)>> {
        self.cfg
            .env
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    EnvValue::Plain(v) => v.clone(),
                    EnvValue::Secret(s) => s
                        .resolve(&format!("database.env.{name}"))?
                        .expose()
                        .to_string(),
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    /// Runs command `which` (`argv` rendered with `{db}`, `{instance_dir}`
    /// and `extra`); fails unless it exits 0 in time.
    fn run(
        &self,
        which: &str,
        argv: &[String],
        extra: Option<(&'static str, &str)>,
    ) -> Result<cmd::Output> {
        let mut vars = Vars::default();
        vars.set("db", self.cfg.name.as_str())
            .set("instance_dir", self.dir.display().to_string());
        if let Some((name, value)) = extra {
            vars.set(name, value);
        }
        let argv = vars.render_all(argv);
        let what = format!("[database] {which} ({})", self.cfg.name);
        let out =
            cmd::run_with_env(&argv, &self.dir, self.cfg.timeout, &self.env()?).map_err(|e| {
                let hint = e.hint_text().map(str::to_owned);
                let wrapped = Error::failed(what.clone()).caused_by(e);
                match hint {
                    Some(h) => wrapped.hint(h),
                    None => wrapped,
                }
            })?;
        out.ok(&argv, &what)
    }

    /// Runs `backup` and `verify` into `tmp`; returns what the sidecar says.
    fn write_backup(&self, tmp: &Path) -> Result<Sidecar> {
        let content_checksum = match self.cfg.checksum {
            Some(_) => Some(self.content_checksum()?),
            None => None,
        };
        let at = tmp.display().to_string();
        self.run("backup", &self.cfg.backup, Some(("backup", &at)))?;
        match std::fs::metadata(tmp) {
            Ok(m) if m.is_file() && m.len() > 0 => {}
            found => {
                return Err(Error::failed(format!(
                    "[database] backup ({}) exited 0 but left {} at {at}",
                    self.cfg.name,
                    match found {
                        Ok(m) if m.is_file() => "an empty file",
                        Ok(_) => "something other than a file",
                        Err(_) => "no file",
                    }
                ))
                .hint(
                    "the backup command must write the backup file to the path given as {backup}",
                ))
            }
        }
        self.run("verify", &self.cfg.verify, Some(("backup", &at)))
            .map_err(|e| e.hint("the new backup did not pass `verify`; it was removed"))?;
        std::fs::File::open(tmp)
            .and_then(|f| f.sync_all())
            .context(|| format!("cannot sync backup {at}"))?;
        let size = std::fs::metadata(tmp)
            .context(|| format!("cannot read {at}"))?
            .len();
        Ok(Sidecar {
            sha256: fsutil::sha256_file(tmp)?,
            size,
            content_checksum,
        })
    }
}

impl Database for CommandDb {
    fn describe(&self) -> String {
        format!("command database {}", self.cfg.name)
    }

    fn name(&self) -> String {
        self.cfg.name.clone()
    }

    /// Unknown: 0, so the disk-space check asks only for its headroom.
    fn size(&self) -> Result<u64> {
        Ok(0)
    }

    /// `ping`; else `query` with `SELECT 1`; else `checksum`; else nothing.
    fn ping(&self) -> Result<()> {
        match (&self.cfg.ping, &self.cfg.query, &self.cfg.checksum) {
            (Some(ping), _, _) => self.run("ping", ping, None).map(drop),
            (None, Some(_), _) => self.query_scalar("SELECT 1").map(drop),
            (None, None, Some(_)) => self.content_checksum().map(drop),
            (None, None, None) => Ok(()),
        }
    }

    fn backup(&self, dir: &Path, name: &str, _progress: &dyn Fn(u64, u64)) -> Result<BackupFile> {
        fsutil::create_dirs(dir)?;
        let path = dir.join(name);
        let sidecar = sidecar_of(&path);
        if let Some(taken) = [&path, &sidecar].into_iter().find(|p| p.exists()) {
            return Err(Error::failed(format!(
                "backup {} exists already",
                taken.display()
            )));
        }
        let tmp = dir.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let written = self.write_backup(&tmp).and_then(|record| {
            let bytes = serde_json::to_vec_pretty(&record)
                .context(|| format!("cannot encode {}", sidecar.display()))?;
            fsutil::atomic_write(&sidecar, &bytes, 0o600)?;
            std::fs::rename(&tmp, &path)
                .context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
            fsutil::sync_dir(dir)?;
            Ok(BackupFile {
                size: record.size + bytes.len() as u64,
                sha256: fsutil::sha256_bytes(&bytes),
                path: path.clone(),
            })
        });
        written.inspect_err(|_| {
            // Neither final name existed before: whatever is there is ours.
            for leftover in [&tmp, &sidecar, &path] {
                let _ = std::fs::remove_file(leftover);
            }
        })
    }

    /// The backup's SHA-256 against its sidecar, then `verify`.
    fn verify(&self, file: &Path) -> Result<()> {
        let record = Sidecar::read(file)?;
        let sha256 = fsutil::sha256_file(file)?;
        if sha256 != record.sha256 {
            return Err(Error::failed(format!(
                "backup {}: SHA-256 is {sha256}, its sidecar says {}",
                file.display(),
                record.sha256
            ))
            .hint("the file was changed or corrupted; do not restore from it"));
        }
        let at = file.display().to_string();
        self.run("verify", &self.cfg.verify, Some(("backup", &at)))
            .map(drop)
    }

    /// Runs `restore`. It does not run `verify` again: every restore goes
    /// through `backup::restore`, which has just verified the backup, and a
    /// `verify` can take about as long as the restore itself.
    fn restore(&self, file: &Path) -> Result<()> {
        let at = file.display().to_string();
        self.run("restore", &self.cfg.restore, Some(("backup", &at)))
            .map(drop)
    }

    fn content_checksum(&self) -> Result<String> {
        let argv = self.cfg.checksum.as_ref().ok_or_else(|| {
            Error::input(format!(
                "{}: there is no `checksum` command",
                self.describe()
            ))
            .hint(
                "add `checksum` to [database]: a command printing a fingerprint of the live \
                 content; see docs/command-database.md",
            )
        })?;
        let out = self.run("checksum", argv, None)?;
        fingerprint(&out.stdout).ok_or_else(|| {
            Error::failed(format!(
                "[database] checksum ({}) printed nothing",
                self.cfg.name
            ))
            .hint("it must print a fingerprint of the content on stdout")
        })
    }

    fn query_scalar(&self, sql: &str) -> Result<serde_json::Value> {
        let argv = self.cfg.query.as_ref().ok_or_else(|| {
            Error::input(format!("{}: there is no `query` command", self.describe())).hint(
                "add `query` to [database]: a command running {sql} and printing the value; \
                 see docs/command-database.md",
            )
        })?;
        Ok(scalar(&self.run("query", argv, Some(("sql", sql)))?.stdout))
    }

    fn backup_checksum(&self, backup: &Path) -> Result<Option<String>> {
        Ok(Sidecar::read(backup)?.content_checksum)
    }

    /// Never: see the module comment.
    fn is_restored(&self, _backup: &Path) -> Result<bool> {
        Ok(false)
    }

    fn preflight(&self) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        if self.cfg.checksum.is_none() {
            notes.push(format!(
                "{}: no `checksum` command, so a restore is verified but not proven to hold \
                 the backup's content",
                self.describe()
            ));
        }
        if self.cfg.ping.is_none() && self.cfg.query.is_none() && self.cfg.checksum.is_none() {
            notes.push(format!(
                "{}: no `ping`, `query` or `checksum` command, so nothing proved it reachable",
                self.describe()
            ));
        }
        Ok(notes)
    }

    fn strategy_note(&self) -> Option<String> {
        Some(format!(
            "{}: backed up by your `backup` command, checked by SHA-256 and `verify` when taken \
             and again before a restore; {}",
            self.describe(),
            match self.cfg.checksum {
                Some(_) => "a restore is proven by the content checksum",
                None => "no `checksum` command, so a restore is not proven by content",
            }
        ))
    }

    fn discard(&self, backup: &Path) -> Result<()> {
        super::remove_backup(backup)?;
        super::remove_backup(&sidecar_of(backup))
    }

    /// The sidecar's SHA-256: it holds the backup's own.
    fn backup_sha256(&self, backup: &Path) -> Result<String> {
        fsutil::sha256_file(&sidecar_of(backup))
    }
}

/// SHA-256 of a checksum command's output, lines stripped of trailing white
/// space (so `\r\n` and `\n` agree); `None` when it printed nothing.
fn fingerprint(stdout: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stdout);
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let text = lines.join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| fsutil::sha256_bytes(text.as_bytes()))
}

/// A query command's answer: its first non-blank line; nothing or `NULL`
/// (how `mariadb` and `sqlcmd` print SQL NULL) is null, a number a number,
/// anything else text (scrubbed of secrets).
fn scalar(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        None | Some("NULL") => serde_json::Value::Null,
        Some(line) => match serde_json::from_str::<serde_json::Number>(line) {
            Ok(n) => serde_json::Value::Number(n),
            Err(_) => serde_json::Value::String(crate::support::redact::redact(line)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::secret::SecretRef;
    use serde_json::json;
    use std::time::Duration;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    /// A "database" that is the file `live` in `dir`: a backup copies it,
    /// verify wants its first line to be `ok`, restore copies it back.
    fn db(dir: &Path) -> CommandDb {
        std::fs::write(dir.join("live"), "ok\nrows 1\n").unwrap();
        CommandDb::new(
            &CommandDbConfig {
                name: "files".into(),
                backup: sh("cp {instance_dir}/live '{backup}'"),
                verify: sh("head -n 1 '{backup}' | grep -qx ok"),
                restore: sh("cp '{backup}' live"),
                checksum: Some(sh("cat live")),
                query: Some(sh("grep -c '{sql}' live || true")),
                ping: None,
                timeout: Duration::from_secs(20),
                env: Default::default(),
            },
            dir,
        )
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn backup_verify_restore_with_a_sidecar_that_proves_the_restore() {
        let tmp = tempfile::tempdir().unwrap();
        let db = db(tmp.path());
        let backups = tmp.path().join("backups");
        let before = db.content_checksum().unwrap();
        let file = db.backup(&backups, "b1.bak", &|_, _| {}).unwrap();
        assert_eq!(names(&backups), ["b1.bak", "b1.bak.upshift.json"]);
        assert_eq!(file.sha256, db.backup_sha256(&file.path).unwrap());
        assert_eq!(
            db.backup_checksum(&file.path).unwrap(),
            Some(before.clone())
        );
        db.verify(&file.path).unwrap();

        std::fs::write(tmp.path().join("live"), "ok\nrows 2\n").unwrap();
        assert_ne!(db.content_checksum().unwrap(), before);
        assert!(!db.is_restored(&file.path).unwrap());
        db.restore(&file.path).unwrap();
        assert_eq!(db.content_checksum().unwrap(), before);

        std::fs::write(&file.path, "ok\nrows 3\n").unwrap();
        let e = db.verify(&file.path).unwrap_err();
        assert!(e.chain().contains("its sidecar says"), "{}", e.chain());
        db.discard(&file.path).unwrap();
        assert!(names(&backups).is_empty());
    }

    #[test]
    fn a_failed_backup_or_verify_leaves_nothing_and_names_the_command() {
        let tmp = tempfile::tempdir().unwrap();
        let backups = tmp.path().join("backups");
        let mut db = db(tmp.path());
        db.cfg.backup = sh("echo 'dump: access denied' >&2; exit 3");
        let e = db.backup(&backups, "b.bak", &|_, _| {}).unwrap_err();
        assert!(
            e.chain().contains("[database] backup (files)") && e.chain().contains("access denied"),
            "{}",
            e.chain()
        );
        assert!(names(&backups).is_empty());

        db.cfg.backup = sh("echo broken > '{backup}'");
        let e = db.backup(&backups, "b.bak", &|_, _| {}).unwrap_err();
        assert!(e.chain().contains("[database] verify"), "{}", e.chain());
        assert!(names(&backups).is_empty());

        db.cfg.backup = sh("true");
        let e = db.backup(&backups, "b.bak", &|_, _| {}).unwrap_err();
        assert!(e.chain().contains("no file"), "{}", e.chain());
        assert!(names(&backups).is_empty());
    }

    #[test]
    fn secrets_reach_commands_by_environment_and_are_scrubbed_from_errors() {
        std::env::set_var("UPSHIFT_TEST_CMDDB_SECRET", "cmddb-canary-4711");
        let tmp = tempfile::tempdir().unwrap();
        let mut db = db(tmp.path());
        db.cfg.env.insert(
            "DB_PASSWORD".into(),
            EnvValue::Secret(SecretRef {
                env: Some("UPSHIFT_TEST_CMDDB_SECRET".into()),
                file: None,
            }),
        );
        db.cfg
            .env
            .insert("DB_HOST".into(), EnvValue::Plain("db.example".into()));
        db.cfg.ping = Some(sh(
            "test \"$DB_HOST\" = db.example && echo \"login as $DB_PASSWORD failed\" >&2; exit 1",
        ));
        let e = db.ping().unwrap_err();
        assert!(
            e.chain().contains("login as *** failed") && !e.chain().contains("canary"),
            "{}",
            e.chain()
        );
    }

    #[test]
    fn query_answers_become_json_scalars() {
        let tmp = tempfile::tempdir().unwrap();
        let db = db(tmp.path());
        assert_eq!(db.query_scalar("rows").unwrap(), json!(1));
        assert_eq!(scalar(b"\n  200 \n\n(1 rows affected)\n"), json!(200));
        assert_eq!(scalar(b"2.5\n"), json!(2.5));
        assert_eq!(scalar(b"NULL\n"), json!(null));
        assert_eq!(scalar(b""), json!(null));
        assert_eq!(scalar(b"007\n"), json!("007"));
        assert_eq!(fingerprint(b"a \r\nb\n"), fingerprint(b"a\nb"));
        assert_eq!(fingerprint(b" \n"), None);
    }
}
