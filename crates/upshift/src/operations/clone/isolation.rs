//! Keeping a clone away from production: the check that no path, unit or
//! acting URL of the clone still points at production (refused, naming the
//! field, before anything heavy is made), and the isolation steps run
//! before the clone first starts (`isolate_sql`, then `isolate` commands).

use crate::config::{
    CheckConfig, CloneConfig, KeySource, LicenceConfig, MaintenanceConfig, ServiceConfig,
    ValueSource,
};
use crate::drivers::db::cloneable;
use crate::engine::instance::Instance;
use crate::support::error::{Error, Result};
use crate::support::events::Reporter;
use std::path::Path;
use std::time::Duration;

/// How long each `isolate` command may take.
const ISOLATE_TIMEOUT: Duration = Duration::from_secs(600);

/// Refuses a clone whose instance file would still touch production.
pub(super) fn check_isolated(prod: &Instance, clone: &Instance, dir: &Path) -> Result<()> {
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
    let clone_db = cloneable(clone.db.as_ref())?;
    paths.extend(
        clone_db
            .files()
            .into_iter()
            .map(|(field, path)| (field.to_string(), path)),
    );
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
    if let Some(field) = cloneable(prod.db.as_ref())?.same_database(&file.database) {
        return refuse(
            field,
            format!("is production's database {}", prod.db.name()),
        );
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
pub(super) fn acting_urls(file: &crate::config::InstanceFile) -> Vec<(String, String)> {
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
pub(super) fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

/// `isolate_sql` on the clone's database, then the `isolate` commands.
pub(super) fn isolate(clone: &Instance, cfg: &CloneConfig, reporter: &dyn Reporter) -> Result<()> {
    for sql in &cfg.isolate_sql {
        cloneable(clone.db.as_ref())?
            .execute(sql)
            .map_err(|e| e.hint("fix clone.isolate_sql in the instance file"))?;
    }
    let vars = clone.current_vars()?;
    for (i, argv) in cfg.isolate.iter().enumerate() {
        crate::support::cmd::run_ok(
            &vars.render_all(argv),
            &clone.loaded.dir,
            ISOLATE_TIMEOUT,
            &format!("clone.isolate[{i}]"),
        )?;
    }
    if !cfg.isolate_sql.is_empty() || !cfg.isolate.is_empty() {
        reporter.note(format!(
            "isolated: {} statements, {} commands",
            cfg.isolate_sql.len(),
            cfg.isolate.len()
        ));
    }
    Ok(())
}
