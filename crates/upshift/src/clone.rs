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

use crate::backup::{self, KeysOutcome};
use crate::checks::{self, CheckContext};
use crate::config::{
    render_clone_value, CheckConfig, CloneConfig, DatabaseConfig, KeySource, LicenceConfig,
    MaintenanceConfig, ServiceConfig, ValueSource,
};
use crate::error::{Context, Error, Result};
use crate::events::{Event, Reporter};
use crate::fsutil;
use crate::instance::Instance;
use crate::keys::KeyBundle;
use crate::state::{BackupKind, BackupRecord, State};
use crate::version::Version;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file in a clone's folder that says upshift made it.
pub const MARKER: &str = ".upshift-clone.json";
/// How long each `isolate` command may take.
const ISOLATE_TIMEOUT: Duration = Duration::from_secs(600);
/// PostgreSQL's longest identifier, in bytes.
const PG_NAME_MAX: usize = 63;

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
    std::fs::create_dir_all(&dir)
        .context(|| format!("cannot create clone folder {}", dir.display()))?;
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
    clone.db.destroy()?;
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
                clone.db.destroy()?;
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
    note(
        reporter,
        format!(
            "clone {}: installing {} in {}",
            parts.name,
            parts.version,
            clone.install.root().display()
        ),
    );
    copy_version(prod, clone, parts.version)?;
    note(
        reporter,
        format!(
            "clone {}: restoring backup #{} as {}",
            parts.name,
            parts.db_backup.id,
            clone.db.describe()
        ),
    );
    prod.db
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
    note(
        reporter,
        format!(
            "clone {}: starting {}",
            parts.name,
            clone.service.describe()
        ),
    );
    made.started = true;
    let clone_vars = clone.current_vars()?;
    clone.service.start(&clone_vars)?;
    let ctx = CheckContext {
        client: &clone.client,
        instance_dir: &clone.loaded.dir,
        vars: &clone_vars,
        db: clone.db.as_ref(),
        expect_version: Some(parts.version),
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

fn note(reporter: &dyn Reporter, message: String) {
    reporter.report(&Event::Note { message });
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

/// The latest verified backups of the installed version, verified again.
fn latest_backups(
    prod: &Instance,
    state: &State,
    version: &Version,
    cfg: &CloneConfig,
) -> Result<(BackupRecord, Option<BackupRecord>)> {
    let usable = |kind: BackupKind, what: &str| -> Result<BackupRecord> {
        let candidates = state.backups(Some(kind))?.into_iter().filter(|b| {
            b.verified_ok != Some(false)
                && (kind == BackupKind::Keys || b.version == version.to_string())
        });
        for record in candidates {
            if backup::verify(prod, state, &record).is_ok() {
                return Ok(record);
            }
        }
        Err(Error::input(format!(
            "there is no verified {what} of {version} to clone from"
        ))
        .hint("take one with `upshift backup db` / `upshift backup keys`, or pass --fresh-backup"))
    };
    let db = usable(BackupKind::Db, "database backup")?;
    let keys = match cfg.keys.is_empty() {
        true => None,
        false => Some(usable(BackupKind::Keys, "key bundle")?),
    };
    Ok((db, keys))
}

/// New backups, with production in maintenance mode meanwhile; maintenance
/// is turned off again whatever happened.
fn fresh_backups(
    prod: &Instance,
    state: &State,
    version: &Version,
    cfg: &CloneConfig,
    reporter: &dyn Reporter,
) -> Result<(BackupRecord, Option<BackupRecord>)> {
    backup::check_space(prod)?;
    note(
        reporter,
        "production: maintenance on for a fresh backup".into(),
    );
    prod.maintenance.set(true)?;
    let taken = (|| {
        let db = backup::database(prod, state, None, version, &|_, _| {})?;
        let keys = match cfg.keys.is_empty() {
            true => None,
            false => Some(match backup::keys(prod, state, None, version, false)? {
                KeysOutcome::Written(r) | KeysOutcome::Unchanged(r) => r,
            }),
        };
        Ok((db, keys))
    })();
    let off = prod.maintenance.set(false);
    note(reporter, "production: maintenance off".into());
    let taken = taken?;
    off.map_err(|e| e.hint("the backups were taken, but production is still in maintenance: `upshift maintenance off`"))?;
    Ok(taken)
}

/// What `{db}` stands for: the clone's SQLite file, or its PostgreSQL name;
/// refused for a database upshift cannot make a copy of (a command database).
fn clone_db(prod: &Instance, dir: &Path, name: &str) -> Result<String> {
    Ok(match &prod.loaded.file.database {
        DatabaseConfig::Sqlite { path } => match path.path().strip_prefix(&prod.loaded.dir) {
            Ok(rel) => dir.join(rel).display().to_string(),
            Err(_) => path.path().display().to_string(),
        },
        DatabaseConfig::Postgres(pg) => {
            let db = format!("{}_{}", pg.dbname, name.replace('-', "_"));
            if db.len() > PG_NAME_MAX {
                return Err(Error::input(format!(
                    "the clone's database name {db} is longer than PostgreSQL's {PG_NAME_MAX} bytes"
                ))
                .hint("pick a shorter --name"));
            }
            db
        }
        DatabaseConfig::Command(_) => {
            return Err(Error::input(format!(
                "{} cannot be cloned: upshift cannot make a new database from its backups",
                prod.db.describe()
            ))
            .hint("clones and rehearsals need a SQLite or PostgreSQL database; nothing was made"))
        }
    })
}

/// Production's instance file, replaced and edited for the clone.
fn clone_file(
    prod: &Instance,
    name: &str,
    replace: &[(String, String)],
    db: &str,
    copied: &[String],
) -> Result<String> {
    let text = std::fs::read_to_string(&prod.loaded.path)
        .context(|| format!("cannot read {}", prod.loaded.path.display()))?;
    let text = apply(&text, replace);
    let at = |what: &str| format!("the clone's instance file: {what}");
    let mut doc: toml::Table = text.parse().map_err(|e| {
        Error::input(at(&format!("{e}")))
            .hint("check the [clone] replacements: they made the file invalid")
    })?;
    let table = |doc: &mut toml::Table, key: &str| -> Result<toml::Table> {
        match doc.remove(key) {
            Some(toml::Value::Table(t)) => Ok(t),
            None => Ok(toml::Table::new()),
            Some(_) => Err(Error::input(at(&format!("[{key}] is not a table")))),
        }
    };
    let mut instance = table(&mut doc, "instance")?;
    instance.insert("name".into(), format!("{}-{name}", prod.name()).into());
    instance.insert("state_dir".into(), ".upshift".into());
    doc.insert("instance".into(), instance.into());
    let mut release = table(&mut doc, "release")?;
    if !prod.loaded.file.release.source.contains("://") {
        let source = prod.loaded.dir.join(&prod.loaded.file.release.source);
        release.insert("source".into(), source.display().to_string().into());
    }
    release.remove("cache_dir");
    doc.insert("release".into(), release.into());
    if let Some(toml::Value::Table(backups)) = doc.get_mut("backups") {
        backups.remove("dir");
    }
    if let (DatabaseConfig::Postgres(_), Some(toml::Value::Table(database))) =
        (&prod.loaded.file.database, doc.get_mut("database"))
    {
        database.insert("dbname".into(), db.into());
    }
    doc.remove("clone");
    for (key, value) in doc.iter_mut() {
        shared_secrets(value, key, &prod.loaded.dir, copied);
    }
    let body = toml::to_string(&doc).context(|| at("cannot write it"))?;
    Ok(format!(
        "# A clone of {} made by `upshift clone`; tear it down with `upshift rehearse` \
         or by stopping it and deleting this folder.\n{body}",
        prod.loaded.path.display()
    ))
}

/// Points the secret references (`{ file = ".." }` outside `from` value
/// sources) that `[clone] copy` does not copy at production's files: a
/// secret is only read, and the clone needs the same passphrase to open its
/// own key bundles.
fn shared_secrets(value: &mut toml::Value, field: &str, prod_dir: &Path, copied: &[String]) {
    match value {
        toml::Value::Table(t) => {
            let secret_ref =
                t.keys().all(|k| k == "file" || k == "env") && !field.ends_with(".from");
            if let (true, Some(toml::Value::String(file))) = (secret_ref, t.get_mut("file")) {
                let own = copied
                    .iter()
                    .any(|c| Path::new(file.as_str()).starts_with(c));
                if !Path::new(file.as_str()).is_absolute() && !own {
                    *file = prod_dir.join(&*file).display().to_string();
                }
                return;
            }
            for (key, v) in t.iter_mut() {
                shared_secrets(v, &format!("{field}.{key}"), prod_dir, copied);
            }
        }
        toml::Value::Array(items) => {
            for v in items {
                shared_secrets(v, field, prod_dir, copied);
            }
        }
        _ => {}
    }
}

/// The replacements applied to `text`, in order.
fn apply(text: &str, replace: &[(String, String)]) -> String {
    replace.iter().fold(text.to_string(), |t, (from, to)| {
        t.replace(from.as_str(), to)
    })
}

/// Refuses a clone whose instance file would still touch production.
fn check_isolated(prod: &Instance, clone: &Instance, dir: &Path) -> Result<()> {
    let file = &clone.loaded.file;
    let refuse = |field: &str, what: String| {
        Err(Error::input(format!(
            "the clone's instance file {}: {field} {what}",
            clone.loaded.path.display()
        ))
        .hint("make it relative to the instance file, or add a [clone] replace entry for it; nothing was made"))
    };
    let mut paths: Vec<(String, &Path)> = vec![
        ("install.root".into(), file.install.root()),
        ("state folder".into(), &clone.state_dir),
    ];
    if let ServiceConfig::Process { pidfile, log, .. } = &file.service {
        paths.push(("service.pidfile".into(), pidfile.path()));
        if let Some(log) = log {
            paths.push(("service.log".into(), log.path()));
        }
    }
    if let DatabaseConfig::Sqlite { path } = &file.database {
        paths.push(("database.path".into(), path.path()));
    }
    let backups_dir = clone.backups_dir();
    paths.push(("backups.dir".into(), &backups_dir));
    let sources = file.keys.iter().flat_map(|k| &k.sources);
    for KeySource { name, from, .. } in sources {
        if let ValueSource::File(f) = from {
            paths.push((format!("keys.sources.{name}.from.file"), f.path()));
        }
    }
    if let Some(LicenceConfig {
        from: ValueSource::File(f),
        ..
    }) = &file.licence
    {
        paths.push(("licence.from.file".into(), f.path()));
    }
    for (field, path) in paths {
        if !path.starts_with(dir) {
            return refuse(
                &field,
                format!(
                    "is {}, outside the clone's folder {}",
                    path.display(),
                    dir.display()
                ),
            );
        }
    }
    match (&prod.loaded.file.database, &file.database) {
        (DatabaseConfig::Postgres(p), DatabaseConfig::Postgres(c))
            if p.dbname == c.dbname && p.host == c.host && p.port == c.port =>
        {
            return refuse(
                "database.dbname",
                format!("is production's database {}", c.dbname),
            );
        }
        _ => {}
    }
    if let (ServiceConfig::Systemd { unit: p, .. }, ServiceConfig::Systemd { unit: c, .. }) =
        (&prod.loaded.file.service, &file.service)
    {
        if p == c {
            return refuse("service.unit", format!("is production's unit {c}"));
        }
    }
    let theirs: Vec<String> = acting_urls(&prod.loaded.file)
        .into_iter()
        .filter_map(|(_, u)| origin(&u))
        .collect();
    for (field, url) in acting_urls(file) {
        if origin(&url).is_some_and(|o| theirs.contains(&o)) {
            return refuse(&field, format!("still points at production ({url})"));
        }
    }
    Ok(())
}

/// The URLs through which upshift acts on or judges the server.
fn acting_urls(file: &crate::config::InstanceFile) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let ready = match &file.service {
        ServiceConfig::Process { ready, .. }
        | ServiceConfig::Systemd { ready, .. }
        | ServiceConfig::Command { ready, .. } => ready,
    };
    out.extend(
        ready
            .iter()
            .map(|r| ("service.ready.url".to_string(), r.url.clone())),
    );
    if let MaintenanceConfig::Http {
        on, off, status, ..
    } = &file.maintenance
    {
        out.push(("maintenance.on.url".into(), on.url.clone()));
        out.push(("maintenance.off.url".into(), off.url.clone()));
        out.extend(
            status
                .iter()
                .map(|s| ("maintenance.status.url".to_string(), s.url.clone())),
        );
    }
    out.extend(
        file.drain
            .iter()
            .map(|d| ("drain.url".to_string(), d.url.clone())),
    );
    for (i, check) in file.checks.iter().enumerate() {
        if let CheckConfig::Http { url, .. } | CheckConfig::Version { url, .. } = check {
            out.push((format!("checks[{i}].url"), url.clone()));
        }
    }
    out
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
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

/// Copies a file or folder (links as links, modes kept), applying the
/// replacements to every text file.
fn copy_tree(src: &Path, dst: &Path, replace: &[(String, String)]) -> Result<()> {
    let meta = std::fs::symlink_metadata(src)
        .input_context(|| format!("clone.copy: cannot read {}", src.display()))?;
    std::fs::create_dir_all(fsutil::parent(dst))
        .context(|| format!("cannot create {}", fsutil::parent(dst).display()))?;
    if meta.file_type().is_symlink() {
        let target =
            std::fs::read_link(src).context(|| format!("cannot read link {}", src.display()))?;
        return std::os::unix::fs::symlink(target, dst)
            .context(|| format!("cannot create link {}", dst.display()));
    }
    if meta.is_dir() {
        std::fs::create_dir_all(dst).context(|| format!("cannot create {}", dst.display()))?;
        std::fs::set_permissions(dst, meta.permissions())
            .context(|| format!("cannot set the mode of {}", dst.display()))?;
        let entries =
            std::fs::read_dir(src).context(|| format!("cannot list {}", src.display()))?;
        for entry in entries {
            let entry = entry.context(|| format!("cannot list {}", src.display()))?;
            copy_tree(&entry.path(), &dst.join(entry.file_name()), replace)?;
        }
        return Ok(());
    }
    let bytes = std::fs::read(src).context(|| format!("cannot read {}", src.display()))?;
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => apply(&text, replace).into_bytes(),
        Err(binary) => binary.into_bytes(),
    };
    use std::os::unix::fs::PermissionsExt;
    fsutil::atomic_write(dst, &bytes, meta.permissions().mode() & 0o7777)
}

/// Copies production's installed version into the clone's root and points
/// `current` at it.
fn copy_version(prod: &Instance, clone: &Instance, version: &Version) -> Result<()> {
    let name = version.to_string();
    let (from, to) = (
        prod.install.root().join("versions"),
        clone.install.root().join("versions"),
    );
    let entries = std::fs::read_dir(&from).context(|| format!("cannot list {}", from.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("cannot list {}", from.display()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if file == name || file.starts_with(&format!(".{name}.")) {
            copy_tree(&entry.path(), &to.join(&file), &[])?;
        }
    }
    let link = clone.install.root().join("current");
    std::os::unix::fs::symlink(Path::new("versions").join(&name), &link)
        .context(|| format!("cannot create link {}", link.display()))
}

/// Writes the `[clone] keys` entries of production's key bundle (0600).
fn write_keys(prod: &Instance, cfg: &CloneConfig, record: &BackupRecord, dir: &Path) -> Result<()> {
    let keys_cfg = prod.loaded.file.keys.as_ref().ok_or_else(|| {
        Error::input("[clone] keys needs a [keys] section").hint("see docs/rehearsal.md")
    })?;
    let bundle = KeyBundle::open(keys_cfg, &record.path)?;
    for (name, rel) in &cfg.keys {
        let value = bundle.get(name).ok_or_else(|| {
            Error::input(format!("key bundle #{} holds no key `{name}`", record.id))
                .hint("take a new one with `upshift backup keys`, or pass --fresh-backup")
        })?;
        let path = dir.join(rel);
        std::fs::create_dir_all(fsutil::parent(&path))
            .context(|| format!("cannot create {}", fsutil::parent(&path).display()))?;
        fsutil::atomic_write(&path, value, 0o600)?;
    }
    Ok(())
}

/// `isolate_sql` on the clone's database, then the `isolate` commands.
fn isolate(clone: &Instance, cfg: &CloneConfig, reporter: &dyn Reporter) -> Result<()> {
    for sql in &cfg.isolate_sql {
        clone
            .db
            .execute(sql)
            .map_err(|e| e.hint("fix clone.isolate_sql in the instance file"))?;
    }
    let vars = clone.current_vars()?;
    for (i, argv) in cfg.isolate.iter().enumerate() {
        crate::cmd::run_ok(
            &vars.render_all(argv),
            &clone.loaded.dir,
            ISOLATE_TIMEOUT,
            &format!("clone.isolate[{i}]"),
        )?;
    }
    if !cfg.isolate_sql.is_empty() || !cfg.isolate.is_empty() {
        note(
            reporter,
            format!(
                "isolated: {} statements, {} commands",
                cfg.isolate_sql.len(),
                cfg.isolate.len()
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
