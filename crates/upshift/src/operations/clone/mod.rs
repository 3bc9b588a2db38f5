//! A test instance made from production's latest verified backup: the
//! runbook's "Test instance", as one operation (`upshift clone`).
//!
//! What a clone is: a folder holding its own instance file, the files the
//! `[clone]` section copies, the installed version copied from production's
//! root, a new database restored from production's verified backup (a new
//! SQLite file, or a new PostgreSQL database `<dbname>_<name>` in the same
//! cluster), the keys written from production's verified key bundle, and
//! its own state folder. Every upshift command works on it with
//! `-c <clone>/upshift.toml`.
//!
//! Design decisions:
//! - Production is only read (its backups, its installed version, its
//!   files); the one exception is `fresh_backup`, which takes new backups
//!   with the usual care (maintenance on, back up, maintenance off).
//! - The clone's instance file is production's with the `[clone]`
//!   replacements applied, then edited: its own name, state folder and
//!   database; the release source made absolute (a clone shares production's
//!   releases, not its cache). It is then loaded like any instance file and
//!   refused (exit 2, naming the field) if any path still resolves outside
//!   the clone's folder, if it would drive production's systemd unit, or if
//!   a URL that acts on the server still points at production's address.
//!   This check runs before anything heavy is made.
//! - Isolation runs before the clone first starts: `isolate_sql` on its
//!   database, then the `isolate` commands in its folder.
//! - A clone that fails half-way is removed again: its service stopped, the
//!   database it made dropped, its folder deleted. A marker file in the
//!   folder ([`MARKER`]) is what [`teardown`] requires, so it can never be
//!   pointed at a folder it did not make.

use crate::config::{render_clone_value, CloneConfig, ServiceConfig};
use crate::drivers::checks::{self, CheckContext, Patience};
use crate::drivers::db::cloneable;
use crate::engine::instance::Instance;
use crate::engine::state::{BackupRecord, State};
use crate::support::error::{Context, Error, Result};
use crate::support::events::Reporter;
use crate::support::fsutil;
use crate::support::version::Version;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod backups;
mod copy;
mod file;
mod isolation;

use backups::{fresh_backups, latest_backups};
use copy::{clone_db, copy_tree, copy_version, write_keys};
use file::clone_file;
use isolation::{check_isolated, isolate};

/// The file in a clone's folder that says upshift made it.
pub const MARKER: &str = ".upshift-clone.json";

/// What `upshift clone` asked for.
#[derive(Debug, Clone, Default)]
pub struct CloneRequest {
    /// Letters, digits, `-` and `_`.
    pub name: String,
    /// Default `<state_dir>/clones/<name>`.
    pub dir: Option<PathBuf>,
    /// Take new backups (maintenance on, back up, maintenance off) instead
    /// of using the latest verified ones.
    pub fresh_backup: bool,
}

/// A clone that was made, started and checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cloned {
    pub name: String,
    pub dir: PathBuf,
    /// `-c` this file to work on the clone.
    pub instance_file: PathBuf,
    /// The port `{port}` stood for.
    pub port: u16,
    pub version: String,
    /// Production's database backup it was restored from.
    pub db_backup: i64,
    /// Production's key bundle its keys came from.
    pub keys_backup: Option<i64>,
    /// The clone's database (engine and location).
    pub database: String,
    /// How long making it took.
    pub ms: u64,
}

/// Makes, isolates, starts and checks a clone of `prod`. The caller holds
/// production's lock.
pub fn create(
    prod: &Instance,
    state: &State,
    request: &CloneRequest,
    reporter: &dyn Reporter,
) -> Result<Cloned> {
    let began = Instant::now();
    let cfg = prod.loaded.file.clone.as_ref().ok_or_else(|| {
        Error::input(format!(
            "instance file {} has no [clone] section",
            prod.loaded.path.display()
        ))
        .hint("add one: which files to copy, which ports to change; see docs/rehearsal.md")
    })?;
    check_name(&request.name)?;
    if prod.is_cluster() {
        return Err(Error::input(format!(
            "instance file {} lists [[nodes]]: a clone is a single server, and a copy of this file would still drive production's nodes",
            prod.loaded.path.display()
        ))
        .hint("rehearse with a single-node instance file for the same installation (this file without [[nodes]] and [ssh])"));
    }
    let dir = match &request.dir {
        Some(dir) => {
            std::path::absolute(dir).input_context(|| format!("bad folder {}", dir.display()))?
        }
        None => prod.state_dir.join("clones").join(&request.name),
    };
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(
            Error::input(format!("clone folder {} is not empty", dir.display()))
                .hint("pick another --name or --dir, or tear the old clone down first"),
        );
    }
    let db_name = clone_db(prod, &dir, &request.name)?;
    let version = prod.current_version()?;
    let (db_backup, keys_backup) = match request.fresh_backup {
        true => fresh_backups(prod, state, &version, cfg, reporter)?,
        false => latest_backups(prod, state, &version, cfg)?,
    };
    fsutil::create_dirs(&dir)?;
    let mut made = Made::default();
    let result = build(
        prod,
        cfg,
        &Parts {
            name: &request.name,
            dir: &dir,
            db_name: &db_name,
            version: &version,
            db_backup: &db_backup,
            keys_backup: keys_backup.as_ref(),
        },
        &mut made,
        reporter,
    );
    result
        .map(|mut cloned| {
            cloned.ms = began.elapsed().as_millis() as u64;
            cloned
        })
        .map_err(|e| {
            let undone = made.undo(&dir);
            let note = match undone {
                Ok(()) => format!("the half-made clone in {} was removed", dir.display()),
                Err(u) => format!("removing the half-made clone failed too: {}", u.chain()),
            };
            let hint = e.hint_text().map(|h| format!("{h}; ")).unwrap_or_default();
            e.hint(format!("{hint}{note}; production was not changed"))
        })
}

/// Stops a clone, drops its database and deletes its folder.
pub fn teardown(dir: &Path) -> Result<()> {
    let marker = Marker::read(dir)?;
    let clone = Instance::open(&marker.instance_file, None)?;
    clone.service.stop()?;
    cloneable(clone.db.as_ref())?.destroy()?;
    std::fs::remove_dir_all(dir).context(|| format!("cannot remove clone folder {}", dir.display()))
}

/// What [`MARKER`] holds.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    instance_file: PathBuf,
    of: PathBuf,
}

impl Marker {
    fn read(dir: &Path) -> Result<Marker> {
        let path = dir.join(MARKER);
        let text = std::fs::read(&path).map_err(|_| {
            Error::input(format!("{} is not a clone made by upshift", dir.display()))
                .hint(format!("upshift only removes folders holding its {MARKER}"))
        })?;
        serde_json::from_slice(&text)
            .map_err(|e| Error::input(format!("{} cannot be read: {e}", path.display())))
    }
}

/// What was made so far, to undo after a failure.
#[derive(Default)]
struct Made {
    /// The clone's instance, once its file loaded and passed the checks.
    clone: Option<Instance>,
    db: bool,
    started: bool,
}

impl Made {
    fn undo(self, dir: &Path) -> Result<()> {
        if let Some(clone) = &self.clone {
            if self.started {
                clone.service.stop()?;
            }
            if self.db {
                cloneable(clone.db.as_ref())?.destroy()?;
            }
        }
        std::fs::remove_dir_all(dir).context(|| format!("cannot remove {}", dir.display()))
    }
}

/// The inputs of [`build`].
struct Parts<'a> {
    name: &'a str,
    dir: &'a Path,
    /// The clone's `{db}`.
    db_name: &'a str,
    version: &'a Version,
    db_backup: &'a BackupRecord,
    keys_backup: Option<&'a BackupRecord>,
}

fn build(
    prod: &Instance,
    cfg: &CloneConfig,
    parts: &Parts,
    made: &mut Made,
    reporter: &dyn Reporter,
) -> Result<Cloned> {
    let dir = parts.dir;
    let port = free_port()?;
    let db_name = parts.db_name;
    let vars = BTreeMap::from([
        ("port", port.to_string()),
        ("name", parts.name.to_string()),
        ("dir", dir.display().to_string()),
        ("db", db_name.to_string()),
    ]);
    let replace: Vec<(String, String)> = cfg
        .replace
        .iter()
        .map(|(from, to)| (from.clone(), render_clone_value(to, &vars)))
        .collect();
    for rel in &cfg.copy {
        copy_tree(&prod.loaded.dir.join(rel), &dir.join(rel), &replace)?;
    }
    let file_name = prod.loaded.path.file_name().unwrap_or_default();
    let instance_file = dir.join(file_name);
    let text = clone_file(prod, parts.name, &replace, db_name, &cfg.copy)?;
    fsutil::atomic_write(&instance_file, text.as_bytes(), 0o600)?;
    let clone = Instance::open(&instance_file, None)?;
    check_isolated(prod, &clone, dir)?;
    let clone = made.clone.insert(clone);
    reporter.note(format!(
        "clone {}: installing {} in {}",
        parts.name,
        parts.version,
        clone.install.root().display()
    ));
    copy_version(prod, clone, parts.version)?;
    reporter.note(format!(
        "clone {}: restoring backup #{} as {}",
        parts.name,
        parts.db_backup.id,
        clone.db.describe()
    ));
    cloneable(prod.db.as_ref())?
        .restore_as_new(&parts.db_backup.path, &clone.loaded.file.database)?;
    made.db = true;
    if let Some(keys) = parts.keys_backup {
        write_keys(prod, cfg, keys, dir)?;
    }
    if let ServiceConfig::Process { pidfile, log, .. } = &clone.loaded.file.service {
        for path in std::iter::once(pidfile).chain(log) {
            let parent = fsutil::parent(path.path());
            std::fs::create_dir_all(parent)
                .context(|| format!("cannot create {}", parent.display()))?;
        }
    }
    let marker = Marker {
        instance_file: instance_file.clone(),
        of: prod.loaded.path.clone(),
    };
    let marker =
        serde_json::to_vec_pretty(&marker).context(|| "cannot encode the clone marker".into())?;
    fsutil::atomic_write(&dir.join(MARKER), &marker, 0o600)?;
    isolate(clone, cfg, reporter)?;
    let clone_vars = clone.current_vars()?;
    reporter.note(format!(
        "clone {}: starting {}",
        parts.name,
        clone.service.describe(&clone_vars)
    ));
    made.started = true;
    clone.service.start(&clone_vars)?;
    let ctx = CheckContext {
        client: &clone.client,
        instance_dir: &clone.loaded.dir,
        vars: &clone_vars,
        db: clone.db.as_ref(),
        expect_version: Some(parts.version),
        patience: Patience::UntilDeadline,
    };
    let failed: Vec<String> = checks::run_all(&clone.loaded.file.checks, &ctx)
        .into_iter()
        .filter(|o| !o.ok)
        .map(|o| format!("{}: {}", o.name, o.detail))
        .collect();
    if !failed.is_empty() {
        return Err(Error::failed(format!(
            "the clone started but failed its checks: {}",
            failed.join("; ")
        ))
        .hint("the backup or the [clone] section does not make a working server (its log is in the clone's folder)"));
    }
    Ok(Cloned {
        name: parts.name.to_string(),
        dir: dir.to_path_buf(),
        instance_file,
        port,
        version: parts.version.to_string(),
        db_backup: parts.db_backup.id,
        keys_backup: parts.keys_backup.map(|k| k.id),
        database: clone.db.describe(),
        ms: 0,
    })
}

/// Letters, digits, `-` and `_`, at most 40: it becomes a folder and a
/// database name.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match ok {
        true => Ok(()),
        false => Err(Error::input(format!("`{name}` is not a clone name"))
            .hint("use 1 to 40 letters, digits, `-` or `_`")),
    }
}

/// A port nobody listens on now.
fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").context(|| "cannot find a free port".into())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .context(|| "cannot find a free port".into())
}

#[cfg(test)]
mod tests {
    use super::isolation::origin;
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin("http://127.0.0.1:80/api?x").as_deref(),
            Some("http://127.0.0.1:80")
        );
        assert_eq!(origin("HTTP://Host:1"), Some("http://host:1".into()));
        assert_eq!(origin("not a url"), None);
    }

    #[test]
    fn names_become_folders_and_database_names() {
        check_name("rehearsal-1_a").unwrap();
        for bad in ["", "a/b", "..", "a b", &"x".repeat(41)] {
            assert_eq!(
                check_name(bad).unwrap_err().kind(),
                crate::ErrorKind::Input,
                "{bad}"
            );
        }
    }

    #[test]
    fn copies_trees_with_links_modes_and_replacements() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("keys")).unwrap();
        std::fs::write(src.join("conf.toml"), "listen = \"h:1\"\n").unwrap();
        std::fs::write(src.join("keys/k"), [0xff, 0x00, 0x68, 0x3a, 0x31]).unwrap();
        std::fs::set_permissions(src.join("keys/k"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::os::unix::fs::symlink("conf.toml", src.join("link")).unwrap();
        let dst = tmp.path().join("a/b");
        copy_tree(&src, &dst, &[("h:1".into(), "h:2".into())]).unwrap();
        assert_eq!(
            std::fs::read_to_string(dst.join("conf.toml")).unwrap(),
            "listen = \"h:2\"\n"
        );
        assert_eq!(
            std::fs::read(dst.join("keys/k")).unwrap(),
            [0xff, 0x00, 0x68, 0x3a, 0x31]
        );
        let mode = std::fs::metadata(dst.join("keys/k"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_link(dst.join("link")).unwrap(),
            Path::new("conf.toml")
        );
    }
}
