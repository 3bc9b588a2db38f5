//! What a plan is: the data a run carries out and the journal keeps.
//!
//! Design decisions:
//! - Apart from the planning (`plan/mod.rs`): the run engine reads a plan
//!   and the planning reads the step table, which runs on the engine's
//!   context; with both in one file they would import each other.
//! - A plan is serialized with its run, so `resume` carries out exactly the
//!   plan that was started: fields only ever get added, with defaults.

use crate::drivers::release::Release;
use crate::engine::instance::Instance;
use crate::engine::step::StepKind;
use crate::support::error::Result;
use crate::support::version::{Change, Version};
use serde::{Deserialize, Serialize};

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// From the installed version to a newer one.
    Upgrade,
    /// Back from a succeeded upgrade to the version before it, with its data.
    Rollback,
}

impl RunKind {
    /// The word used in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Upgrade => "upgrade",
            RunKind::Rollback => "rollback",
        }
    }
}

/// One planned step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedStep {
    pub step: StepKind,
    pub in_window: bool,
    pub reversible: bool,
    pub description: String,
    /// Median duration of this step in earlier successful runs.
    pub estimate_ms: Option<u64>,
    /// What the latest rehearsal of this same upgrade predicts for it.
    #[serde(default)]
    pub rehearsed_ms: Option<u64>,
}

/// An upgrade (or rollback) plan. It is kept in the journal with its run,
/// so `resume` carries out exactly the plan that was started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub kind: RunKind,
    pub instance: String,
    pub from: String,
    pub to: String,
    pub change: Change,
    #[serde(skip)]
    pub release: Option<Release>,
    /// For a rollback: the catalogued database backup to restore.
    pub restore_backup: Option<i64>,
    /// For a rollback: the upgrade run it undoes.
    pub rolls_back: Option<String>,
    pub steps: Vec<PlannedStep>,
    /// Sum of the estimates of the in-window steps, when all are known.
    pub window_estimate_ms: Option<u64>,
    /// The latest rehearsal of this same upgrade (`from` -> `to`): its id,
    /// outcome and predicted window.
    #[serde(default)]
    pub rehearsal: Option<Rehearsed>,
}

/// The latest rehearsal of a plan's upgrade, as the plan shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rehearsed {
    pub id: String,
    pub at: String,
    pub outcome: String,
    pub window_ms: Option<u64>,
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

    /// Looks the target release up again (after a resume, where the plan came
    /// from the journal), when the target is not staged yet.
    pub fn refresh_release(&mut self, inst: &Instance) -> Result<()> {
        let to = self.to_version();
        if self.release.is_none() && !inst.primary().is_staged(&to)? {
            self.release = inst.source.list()?.into_iter().find(|r| r.version == to);
        }
        Ok(())
    }
}
