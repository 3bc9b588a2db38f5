//! Planning an upgrade: which release, which steps, how long, and whether it
//! is allowed at all. A plan changes nothing.
//!
//! Refusals happen here, before any run exists, as input errors (exit 2): a
//! downgrade, a major jump without opt-in, a version the source does not
//! have, a release the licence does not cover.

use crate::config::{MaintenanceConfig, MigrationConfig};
use crate::error::{Error, Result};
use crate::events::{Event, Reporter};
use crate::instance::Instance;
use crate::licence;
use crate::release::Release;
use crate::state::State;
use crate::step::StepKind;
use crate::version::{Change, Version};
use serde::Serialize;

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Target version; default the newest release of the same major.
    pub to: Option<Version>,
    /// Allow a major version jump.
    pub allow_major: bool,
}

/// One planned step.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub step: StepKind,
    pub in_window: bool,
    pub reversible: bool,
    pub description: &'static str,
    /// Median duration of this step in earlier successful runs.
    pub estimate_ms: Option<u64>,
}

/// An upgrade plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub instance: String,
    pub from: String,
    pub to: String,
    pub change: Change,
    #[serde(skip)]
    pub release: Option<Release>,
    pub steps: Vec<PlannedStep>,
    /// Sum of the estimates of the in-window steps, when all are known.
    pub window_estimate_ms: Option<u64>,
}

impl Plan {
    /// The source version.
    pub fn from_version(&self) -> Version {
        self.from.parse().expect("plan versions are valid")
    }

    /// The target version.
    pub fn to_version(&self) -> Version {
        self.to.parse().expect("plan versions are valid")
    }

    /// Whether there is nothing to do.
    pub fn is_noop(&self) -> bool {
        self.change == Change::Same
    }
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
        licence::check(inst, release, reporter)?;
    }
    let steps = if change == Change::Same {
        Vec::new()
    } else {
        steps(inst, state)?
    };
    let window_estimate_ms = steps
        .iter()
        .filter(|s| s.in_window)
        .map(|s| s.estimate_ms)
        .sum::<Option<u64>>()
        .filter(|_| !steps.is_empty());
    Ok(Plan {
        instance: inst.name().to_string(),
        from: from.to_string(),
        to: to.to_string(),
        change,
        release,
        steps,
        window_estimate_ms,
    })
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
fn steps(inst: &Instance, state: &State) -> Result<Vec<PlannedStep>> {
    let cfg = &inst.loaded.file;
    let estimates = state.step_estimates()?;
    Ok(StepKind::ALL
        .into_iter()
        .filter(|step| match step {
            StepKind::BackupKeys => cfg.keys.is_some(),
            StepKind::MaintenanceOn | StepKind::MaintenanceOff => {
                !matches!(cfg.maintenance, MaintenanceConfig::None)
            }
            StepKind::Drain => cfg.drain.is_some(),
            StepKind::Migrate => matches!(cfg.migration, MigrationConfig::Command { .. }),
            StepKind::Checks => !cfg.checks.is_empty(),
            _ => true,
        })
        .map(|step| PlannedStep {
            step,
            in_window: step.in_window(),
            reversible: step.reversible(),
            description: step.describe(),
            estimate_ms: estimates.get(step.name()).copied(),
        })
        .collect())
}

/// Tells the reporter about a choice the plan made.
pub(crate) fn note(reporter: &dyn Reporter, message: String) {
    reporter.report(&Event::Note { message });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(v: &str) -> Release {
        Release {
            version: v.parse().unwrap(),
            url: String::new(),
            file_name: String::new(),
            sha256: String::new(),
            size: None,
            signature: String::new(),
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
