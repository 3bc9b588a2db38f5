//! The instance file (`upshift.toml`): one server installation.
//!
//! Each section has its own file and type; this one holds the whole file,
//! loads it and checks what serde cannot (exactly one secret location,
//! template placeholders that exist). Unknown fields are rejected everywhere:
//! a typo must not silently turn a safety feature off. Secrets are never in
//! the file, only where to find them. See `docs/instance-file.md`.

mod checks;
mod clone;
mod command_db;
mod database;
mod http;
mod install;
mod keys;
mod location;
mod maintenance;
mod nodes;
pub mod presets;
mod release;
mod service;
#[cfg(test)]
mod tests;

pub use crate::support::path::FilePath;
pub use checks::{version_in, BodyFormat, CheckConfig, VersionIn};
pub use clone::{render_clone_value, CloneConfig};
pub use command_db::{CommandDbConfig, EnvValue};
pub use database::{BackupsConfig, DatabaseConfig, MigrationConfig, PgStrategy, PostgresConfig};
pub use http::{HeaderValue, Headers, HttpProbe, HttpRequest};
pub use install::InstallConfig;
pub use keys::{HttpGet, KeySource, KeysConfig, LicenceConfig, LicenceCovers, ValueSource};
pub use maintenance::{DrainConfig, MaintenanceConfig};
pub use nodes::{Host, NodeConfig, SshConfig};
pub(crate) use release::is_sha256;
pub use release::{ReleaseConfig, ReleaseFormat, Verify};
pub use service::ServiceConfig;

use crate::support::error::{Context, Error, Result};
use crate::support::template;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole instance file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFile {
    pub instance: InstanceSection,
    pub release: ReleaseConfig,
    pub install: InstallConfig,
    pub service: ServiceConfig,
    #[serde(default)]
    pub maintenance: MaintenanceConfig,
    pub drain: Option<DrainConfig>,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub backups: BackupsConfig,
    pub migration: MigrationConfig,
    pub keys: Option<KeysConfig>,
    pub licence: Option<LicenceConfig>,
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
    /// How a test instance is made from this one (`upshift clone`, `rehearse`).
    pub clone: Option<CloneConfig>,
    /// The nodes of a cluster sharing the database; none: one local node.
    #[serde(default)]
    pub nodes: Vec<NodeConfig>,
    /// How remote nodes are reached.
    #[serde(default)]
    pub ssh: SshConfig,
}

/// `[instance]`: what this installation is called and where upshift keeps its state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSection {
    pub name: String,
    /// Free text, shown in reports (`sample-server`, `octopus`, ...).
    pub product: Option<String>,
    /// Journal, catalog, cache and backups; default `.upshift` beside the file.
    pub state_dir: Option<FilePath>,
    /// Timeout of each HTTP request to the server (maintenance, drain,
    /// checks, ready probes, keys, licence).
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub http_timeout: std::time::Duration,
}

fn default_http_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

/// A loaded instance file and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: InstanceFile,
    /// The instance file's path.
    pub path: PathBuf,
    /// Its folder: relative paths and commands start here.
    pub dir: PathBuf,
    /// Its text, as remote nodes' agents are sent it.
    pub text: String,
}

/// What to do when there is no instance file where one was looked for.
const MISSING_HINT: &str = "write one with `upshift init --product octopus|generic|sample` (see docs/instance-file.md), or name yours with `-c FILE`";

/// Reads, parses and checks an instance file.
pub fn load(path: &Path) -> Result<Loaded> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let missing = e.kind() == std::io::ErrorKind::NotFound;
        let error =
            Error::input(format!("cannot read instance file {}", path.display())).caused_by(e);
        match missing {
            true => error.hint(MISSING_HINT),
            false => error,
        }
    })?;
    let path =
        std::path::absolute(path).input_context(|| format!("cannot resolve {}", path.display()))?;
    parse(&text, &path)
}

/// Parses and checks the text of the instance file at `path` (absolute).
pub fn parse(text: &str, path: &Path) -> Result<Loaded> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let file: InstanceFile = crate::support::path::with_base(&dir, || toml::from_str(text))
        .map_err(|e| {
            Error::input(format!(
                "instance file {}: {}",
                path.display(),
                e.message().trim()
            ))
            .hint(location::hint(text, e.message(), e.span()))
        })?;
    validate(&file, path)?;
    // Upshift reads these variables itself; no child inherits them.
    for (_, secret) in secrets(&file) {
        if let Some(var) = &secret.env {
            crate::support::child_env::withhold(var);
        }
    }
    Ok(Loaded {
        file,
        path: path.to_path_buf(),
        dir,
        text: text.to_string(),
    })
}

impl Loaded {
    /// Resolves every secret the file names, so a missing variable or file
    /// is found before a run, not inside its maintenance window.
    pub fn resolve_secrets(&self) -> Result<()> {
        for (field, secret) in secrets(&self.file) {
            secret.resolve(&format!("instance file {}: {field}", self.path.display()))?;
        }
        Ok(())
    }
}

fn validate(file: &InstanceFile, path: &Path) -> Result<()> {
    let at = |field: &str| format!("instance file {}: {field}", path.display());
    file.release.validate(&at)?;
    for (field, argv) in commands(file) {
        if argv.is_empty() {
            return Err(Error::input(format!(
                "{}: the command is empty",
                at(&field)
            )));
        }
        for arg in argv {
            template::check(arg).map_err(|e| Error::input(format!("{}: {e}", at(&field))))?;
            if arg.contains("{artifact}") && field != "install.run" {
                return Err(Error::input(format!(
                    "{}: {{artifact}} has a value in install.run only",
                    at(&field)
                ))
                .hint("let install.run copy the artifact into {dir}, and use {dir} elsewhere"));
            }
        }
    }
    for (field, secret) in secrets(file) {
        secret.validate(&at(&field))?;
    }
    if let DatabaseConfig::Command(db) = &file.database {
        db.validate(&at)?;
    }
    let node_services = file.nodes.iter().enumerate().filter_map(|(i, n)| {
        n.service
            .as_ref()
            .map(|s| (format!("nodes[{i}].service"), s))
    });
    for (field, service) in
        std::iter::once(("service".to_string(), &file.service)).chain(node_services)
    {
        if let ServiceConfig::Process { stop_signal, .. } = service {
            if !["TERM", "INT", "QUIT", "HUP"].contains(&stop_signal.trim_start_matches("SIG")) {
                return Err(Error::input(format!(
                    "{}: `{stop_signal}` is not one of TERM, INT, QUIT, HUP",
                    at(&format!("{field}.stop_signal"))
                )));
            }
        }
    }
    let node_checks = file.nodes.iter().enumerate().flat_map(|(i, n)| {
        n.checks
            .iter()
            .enumerate()
            .map(move |(j, c)| (format!("nodes[{i}].checks[{j}]"), c))
    });
    let own_checks = file.checks.iter().enumerate();
    for (field, check) in own_checks
        .map(|(i, c)| (format!("checks[{i}]"), c))
        .chain(node_checks)
    {
        check
            .validate()
            .map_err(|e| Error::input(format!("{}: {e}", at(&field))))?;
    }
    nodes::validate(&file.nodes, &at)?;
    if let Some(keys) = &file.keys {
        if keys.passphrase.is_none() == keys.recipients.is_empty() {
            return Err(Error::input(format!(
                "{}: give either `passphrase` or `recipients` for the key bundle",
                at("keys")
            )));
        }
        let mut names: Vec<&str> = keys.sources.iter().map(|k| k.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::input(format!(
                "{}: key `{}` is listed twice",
                at("keys.sources"),
                w[0]
            )));
        }
    }
    if let Some(clone) = &file.clone {
        let names: Vec<&str> = file
            .keys
            .iter()
            .flat_map(|k| &k.sources)
            .map(|s| s.name.as_str())
            .collect();
        clone.validate(&names, &at)?;
    }
    Ok(())
}

/// Every command line in the file, with the field it came from.
fn commands(file: &InstanceFile) -> Vec<(String, &Vec<String>)> {
    let mut out = Vec::new();
    match &file.install {
        InstallConfig::Command { run, activate, .. } => {
            out.push(("install.run".into(), run));
            if let Some(activate) = activate {
                out.push(("install.activate".into(), activate));
            }
        }
        InstallConfig::Archive { .. } => {}
    }
    service_commands("service", &file.service, &mut out);
    for (i, node) in file.nodes.iter().enumerate() {
        if let Some(service) = &node.service {
            service_commands(&format!("nodes[{i}].service"), service, &mut out);
        }
        check_commands(&format!("nodes[{i}].checks"), &node.checks, &mut out);
    }
    if let MaintenanceConfig::Command { on, off, status } = &file.maintenance {
        out.push(("maintenance.on".into(), on));
        out.push(("maintenance.off".into(), off));
        if let Some(status) = status {
            out.push(("maintenance.status".into(), status));
        }
    }
    let isolate = file.clone.iter().flat_map(|c| c.isolate.iter());
    for (i, run) in isolate.enumerate() {
        out.push((format!("clone.isolate[{i}]"), run));
    }
    if let DatabaseConfig::Command(db) = &file.database {
        for (field, run) in db.commands() {
            out.push((format!("database.{field}"), run));
        }
    }
    if let MigrationConfig::Command { run, .. } = &file.migration {
        out.push(("migration.run".into(), run));
    }
    check_commands("checks", &file.checks, &mut out);
    let key_sources = file.keys.iter().flat_map(|k| k.sources.iter());
    for (i, source) in key_sources.enumerate() {
        if let ValueSource::Command(run) = &source.from {
            out.push((format!("keys.sources[{i}].from.command"), run));
        }
    }
    if let Some(LicenceConfig {
        from: ValueSource::Command(run),
        ..
    }) = &file.licence
    {
        out.push(("licence.from.command".into(), run));
    }
    out
}

fn service_commands<'a>(
    field: &str,
    service: &'a ServiceConfig,
    out: &mut Vec<(String, &'a Vec<String>)>,
) {
    match service {
        ServiceConfig::Process { start, .. } => out.push((format!("{field}.start"), start)),
        ServiceConfig::Command {
            start,
            stop,
            status,
            before_stop,
            after_start,
            ..
        } => {
            out.push((format!("{field}.start"), start));
            out.push((format!("{field}.stop"), stop));
            out.push((format!("{field}.status"), status));
            for (i, hook) in before_stop.iter().enumerate() {
                out.push((format!("{field}.before_stop[{i}]"), hook));
            }
            for (i, hook) in after_start.iter().enumerate() {
                out.push((format!("{field}.after_start[{i}]"), hook));
            }
        }
        ServiceConfig::Systemd { .. } => {}
    }
}

fn check_commands<'a>(
    field: &str,
    checks: &'a [CheckConfig],
    out: &mut Vec<(String, &'a Vec<String>)>,
) {
    for (i, check) in checks.iter().enumerate() {
        if let CheckConfig::Command { run, .. } = check {
            out.push((format!("{field}[{i}].run"), run));
        }
    }
}

/// Every secret reference in the file, with the field it came from.
fn secrets<'a>(file: &'a InstanceFile) -> Vec<(String, &'a crate::support::secret::SecretRef)> {
    let mut found = Vec::new();
    let mut headers = |field: &str, h: &'a Headers| found.push((field.to_string(), h));
    if let MaintenanceConfig::Http {
        headers: h,
        on,
        off,
        status,
    } = &file.maintenance
    {
        headers("maintenance", h);
        headers("maintenance.on", &on.headers);
        headers("maintenance.off", &off.headers);
        if let Some(status) = status {
            headers("maintenance.status", &status.headers);
        }
    }
    if let Some(drain) = &file.drain {
        headers("drain", &drain.headers);
    }
    for check in file
        .checks
        .iter()
        .chain(file.nodes.iter().flat_map(|n| &n.checks))
    {
        match check {
            CheckConfig::Http { headers: h, .. } | CheckConfig::Version { headers: h, .. } => {
                headers("checks", h)
            }
            _ => {}
        }
    }
    if let Some(keys) = &file.keys {
        for source in &keys.sources {
            if let ValueSource::Http(get) = &source.from {
                headers(&format!("keys.sources.{}", source.name), &get.headers);
            }
        }
    }
    if let Some(LicenceConfig {
        from: ValueSource::Http(get),
        ..
    }) = &file.licence
    {
        headers("licence", &get.headers);
    }
    let mut out = Vec::new();
    for (field, h) in found {
        for (name, value) in h {
            if let HeaderValue::Secret(s) = value {
                out.push((format!("{field}.headers.{name}"), s));
            }
        }
    }
    if let Some(keys) = &file.keys {
        if let Some(p) = &keys.passphrase {
            out.push(("keys.passphrase".into(), p));
        }
        if let Some(i) = &keys.identity {
            out.push(("keys.identity".into(), i));
        }
    }
    if let DatabaseConfig::Postgres(PostgresConfig {
        password: Some(p), ..
    }) = &file.database
    {
        out.push(("database.password".into(), p));
    }
    if let DatabaseConfig::Command(db) = &file.database {
        for (name, secret) in db.secrets() {
            out.push((format!("database.env.{name}"), secret));
        }
    }
    out
}
