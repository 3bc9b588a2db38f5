//! Planning an upgrade: which release, which steps, how long, and whether it
//! is allowed at all. A plan changes nothing.
//!
//! Refusals happen here, before any run exists, as input errors (exit 2): a
//! downgrade, a major jump without opt-in, a version the source does not
//! have, a release the licence does not cover, a release staging would
//! download but could not verify (no SHA-256, or no required signature).

use crate::config::{MaintenanceConfig, MigrationConfig};
use crate::drivers::licence;
use crate::drivers::release::Release;
use crate::engine::instance::Instance;
use crate::engine::run;
use crate::engine::state::{RehearsalFigures, RunStatus, State};
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};
use crate::support::events::Reporter;
use crate::support::version::{Change, Version};

pub mod model;

pub use model::{Plan, PlannedStep, Rehearsed, RunKind};

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Target version; default the newest release of the same major.
    pub to: Option<Version>,
    /// Allow a major version jump.
    pub allow_major: bool,
}

/// Builds the plan for `request` on `inst`.
pub fn make(
    inst: &Instance,
    state: &State,
    request: &Request,
    reporter: &dyn Reporter,
) -> Result<Plan> {
    inst.loaded.resolve_secrets()?;
    let from = inst.current_version()?;
    let releases = inst.source.list()?;
    let release = choose(&releases, &from, request)?;
    let to = release.as_ref().map_or(from.clone(), |r| r.version.clone());
    let change = from.change_to(&to);
    if let Some(release) = &release {
        if let Some(cfg) = &inst.loaded.file.licence {
            licence::check(
                cfg,
                &licence::Reading {
                    client: &inst.client,
                    instance_dir: &inst.loaded.dir,
                    vars: &inst.current_vars()?,
                },
                release,
                reporter,
            )?;
        }
        verifiable(inst, release)?;
        if let Some(warning) = inst.source.trust_warning(release) {
            let hint = warning.hint_text().unwrap_or_default();
            reporter.note(format!("{warning}; {hint}"));
        }
    }
    let steps = if change == Change::Same {
        Vec::new()
    } else {
        steps(inst, state, RunKind::Upgrade)?
    };
    if let Some(why) = inst.db.strategy_note() {
        reporter.note(why);
    }
    if change != Change::Same && migrates_on_start(inst, RunKind::Upgrade) {
        reporter.note("the server migrates its database schema as it starts: `start` runs the migration (there is no `migrate` step), so once `start` has run, a rollback depends on restoring the database backup taken by `backup-db`".into());
    }
    let mut plan = Plan::new(RunKind::Upgrade, inst, from, to, release, None, steps);
    if let Some(figures) = state.latest_rehearsal()? {
        plan.add_rehearsal(figures);
    }
    Ok(plan)
}

impl Plan {
    fn new(
        kind: RunKind,
        inst: &Instance,
        from: Version,
        to: Version,
        release: Option<Release>,
        restore_backup: Option<i64>,
        steps: Vec<PlannedStep>,
    ) -> Plan {
        let window_estimate_ms = steps
            .iter()
            .filter(|s| s.in_window)
            .map(|s| s.estimate_ms)
            .sum::<Option<u64>>()
            .filter(|_| !steps.is_empty());
        Plan {
            kind,
            instance: inst.name().to_string(),
            change: from.change_to(&to),
            from: from.to_string(),
            to: to.to_string(),
            release,
            restore_backup,
            rolls_back: None,
            steps,
            window_estimate_ms,
            rehearsal: None,
        }
    }

    /// Shows a rehearsal's figures beside the steps, if it rehearsed this
    /// very upgrade.
    fn add_rehearsal(&mut self, figures: RehearsalFigures) {
        if figures.from != self.from || figures.to != self.to || self.steps.is_empty() {
            return;
        }
        for step in &mut self.steps {
            step.rehearsed_ms = figures.steps.get(step.step.name()).copied();
        }
        self.rehearsal = Some(Rehearsed {
            id: figures.id,
            at: figures.at,
            outcome: figures.outcome,
            window_ms: figures.window_ms,
        });
    }
}

/// What `upshift rollback` asked for.
#[derive(Debug, Clone, Default)]
pub struct RollbackRequest {
    /// The run to undo; default the latest succeeded one.
    pub run: Option<String>,
    /// Accept losing data written since that run.
    pub discard_newer_data: bool,
    /// Go ahead without a usable database backup.
    pub force: bool,
}

/// Plans going back from a succeeded upgrade run (`run`, default the
/// latest) to the version before it, restoring that run's database backup.
/// Today's database is backed up first (the plan's `backup-db`).
pub fn rollback(
    inst: &Instance,
    state: &State,
    request: &RollbackRequest,
    reporter: &dyn Reporter,
) -> Result<Plan> {
    inst.loaded.resolve_secrets()?;
    let runs = state.runs(10_000)?;
    let latest = runs.iter().find(|r| r.status == RunStatus::Succeeded);
    let run = match &request.run {
        Some(id) => runs.iter().find(|r| &r.id == id).ok_or_else(|| {
            Error::input(format!("there is no run {id}")).hint("`upshift history` lists the runs")
        })?,
        None => latest.ok_or_else(|| {
            Error::input("there is no succeeded upgrade to roll back")
                .hint("`upshift history` lists the runs")
        })?,
    };
    if run.status != RunStatus::Succeeded || run.kind != RunKind::Upgrade.as_str() {
        return Err(Error::input(format!(
            "run {} is a {} that ended {}: only a succeeded upgrade can be rolled back",
            run.id,
            run.kind,
            run.status.as_str()
        )));
    }
    if latest.map(|l| &l.id) != Some(&run.id) {
        return Err(
            Error::input(format!("run {} is not the latest succeeded run", run.id))
                .hint("roll back the later runs first, newest first"),
        );
    }
    let from: Version = run.to.parse()?;
    let to: Version = run.from.parse()?;
    let current = inst.current_version()?;
    if current != from {
        return Err(Error::input(format!(
            "run {} installed {from}, but {current} is installed now",
            run.id
        )));
    }
    let restore_backup = match crate::engine::backup::of_run(inst, state, &run.id)? {
        Ok(id) => Some(id),
        Err(reason) if !request.force => {
            return Err(reason.hint(
                "without that backup the data cannot go back, so the rollback is refused; --force rolls back the install only and keeps today's data (the old version may not understand it)",
            ))
        }
        Err(reason) => {
            reporter.note(format!("--force: {reason}; rolling back the install only, keeping today's data"));
            None
        }
    };
    if restore_backup.is_some() && !request.discard_newer_data {
        return Err(Error::input(format!(
            "rolling back run {} restores the database as it was before that upgrade (finished {}): data written since then is lost",
            run.id,
            run.finished_at.as_deref().unwrap_or("?")
        ))
        .hint("pass --discard-newer-data to go ahead; today's database is saved as a catalogued backup first"));
    }
    let release = if inst.primary().is_staged(&to)? {
        None
    } else {
        let found = inst.source.list()?.into_iter().find(|r| r.version == to);
        let found = found.ok_or_else(|| {
            Error::input(format!(
                "{to} is no longer installed and the release source does not list it"
            ))
        })?;
        verifiable(inst, &found)?;
        Some(found)
    };
    let mut steps = steps(inst, state, RunKind::Rollback)?;
    if restore_backup.is_none() {
        steps.retain(|s| s.step != StepKind::RestoreDb);
    }
    let mut plan = Plan::new(
        RunKind::Rollback,
        inst,
        from,
        to,
        release,
        restore_backup,
        steps,
    );
    plan.rolls_back = Some(run.id.clone());
    Ok(plan)
}

/// Refuses, before anything changes, a release that staging would download
/// but could not verify (no SHA-256, or no signature where one is required).
fn verifiable(inst: &Instance, release: &Release) -> Result<()> {
    if inst.install.needs_artifact() && !inst.install.is_staged(&release.version) {
        inst.source.check_verifiable(release)?;
    }
    Ok(())
}

/// Picks the target release, or `None` when already on it.
fn choose(releases: &[Release], from: &Version, request: &Request) -> Result<Option<Release>> {
    let target = match &request.to {
        Some(to) => {
            if to < from {
                return Err(
                    Error::input(format!("refusing to downgrade from {from} to {to}")).hint(
                        "upshift only upgrades; to go back after an upgrade use `upshift rollback`",
                    ),
                );
            }
            if to == from {
                return Ok(None);
            }
            releases.iter().find(|r| &r.version == to).ok_or_else(|| {
                let known: Vec<String> = releases.iter().map(|r| r.version.to_string()).collect();
                Error::input(format!("release {to} is not in the release source"))
                    .hint(format!("available: {}", known.join(", ")))
            })?
        }
        None => match releases
            .iter()
            .filter(|r| r.version.major() == from.major() || request.allow_major)
            .max_by(|a, b| a.version.cmp(&b.version))
        {
            Some(r) if &r.version > from => r,
            _ => return Ok(None),
        },
    };
    if from.change_to(&target.version) == Change::Major && !request.allow_major {
        return Err(Error::input(format!(
            "{from} -> {} is a major upgrade",
            target.version
        ))
        .hint("major upgrades change more than the schema; read the release notes, then pass --allow-major"));
    }
    Ok(Some(target.clone()))
}

/// The steps this instance's configuration calls for.
/// Whether a run of `kind` upgrades the schema in `start`: an upgrade of a
/// server that migrates itself as it starts.
fn migrates_on_start(inst: &Instance, kind: RunKind) -> bool {
    kind == RunKind::Upgrade && matches!(inst.loaded.file.migration, MigrationConfig::OnStart)
}

fn steps(inst: &Instance, state: &State, kind: RunKind) -> Result<Vec<PlannedStep>> {
    let cfg = &inst.loaded.file;
    let estimates = state.step_estimates()?;
    let upgrade = kind == RunKind::Upgrade;
    Ok(StepKind::ALL
        .into_iter()
        .filter(|step| match step {
            StepKind::BackupKeys => upgrade && cfg.keys.is_some(),
            StepKind::RestoreDb => !upgrade,
            StepKind::ExportBackup => inst.db.as_in_server().is_some(),
            StepKind::MaintenanceOn | StepKind::MaintenanceOff => {
                !matches!(cfg.maintenance, MaintenanceConfig::None)
            }
            StepKind::Drain => cfg.drain.is_some(),
            StepKind::Migrate => {
                upgrade && matches!(cfg.migration, MigrationConfig::Command { .. })
            }
            StepKind::Checks => {
                !cfg.checks.is_empty() || cfg.nodes.iter().any(|n| !n.checks.is_empty())
            }
            StepKind::Join => inst.nodes.len() > 1,
            _ => true,
        })
        .map(|step| (step, run::steps::of(step)))
        .map(|(step, def)| PlannedStep {
            step,
            in_window: def.in_window,
            reversible: def.reversible(),
            description: match step {
                StepKind::Start if migrates_on_start(inst, kind) => run::steps::START_MIGRATING,
                _ => def.describe(kind),
            }
            .to_string(),
            estimate_ms: estimates.get(step.name()).copied(),
            rehearsed_ms: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(v: &str) -> Release {
        Release {
            version: v.parse().unwrap(),
            url: String::new(),
            file_name: String::new(),
            sha256: None,
            size: None,
            signature: None,
            published: None,
        }
    }

    fn pick(from: &str, to: Option<&str>, allow_major: bool) -> Result<Option<String>> {
        let releases: Vec<Release> = ["2026.1.0", "2026.1.1", "2026.2.0", "2027.1.0"]
            .into_iter()
            .map(release)
            .collect();
        let request = Request {
            to: to.map(|t| t.parse().unwrap()),
            allow_major,
        };
        choose(&releases, &from.parse().unwrap(), &request)
            .map(|r| r.map(|r| r.version.to_string()))
    }

    #[test]
    fn newest_of_the_same_major_by_default() {
        assert_eq!(
            pick("2026.1.0", None, false).unwrap().as_deref(),
            Some("2026.2.0")
        );
        assert_eq!(
            pick("2026.1.0", None, true).unwrap().as_deref(),
            Some("2027.1.0")
        );
        assert_eq!(pick("2026.2.0", None, false).unwrap(), None);
    }

    #[test]
    fn refuses_downgrade_major_and_unknown() {
        assert!(pick("2026.2.0", Some("2026.1.0"), false)
            .unwrap_err()
            .to_string()
            .contains("downgrade"));
        assert!(pick("2026.2.0", Some("2027.1.0"), false)
            .unwrap_err()
            .to_string()
            .contains("major"));
        assert!(pick("2026.1.0", Some("2026.3.0"), false)
            .unwrap_err()
            .to_string()
            .contains("not in the release source"));
        assert_eq!(
            pick("2026.2.0", Some("2027.1.0"), true).unwrap().as_deref(),
            Some("2027.1.0")
        );
    }
}
