//! The steps of an upgrade by name: the identity the plan, the journal and
//! the output use, in the order the standard run takes them.
//!
//! Design decisions:
//! - Only the identity lives here. Everything else about a step (whether it
//!   runs in the maintenance window, its description, what it does and how
//!   it is undone) is defined once, in its file under `run/steps/`, which
//!   `run::steps::of` finds by this name: the step files run on the run's
//!   context, which names steps, so the identity must sit below them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One step of an upgrade, in the order the standard run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Preflight,
    BackupKeys,
    Stage,
    MaintenanceOn,
    Drain,
    Stop,
    BackupDb,
    Switch,
    Migrate,
    RestoreDb,
    Start,
    Join,
    Checks,
    MaintenanceOff,
    ExportBackup,
    Record,
}

impl StepKind {
    /// Every step, in run order.
    pub const ALL: [StepKind; 16] = [
        StepKind::Preflight,
        StepKind::BackupKeys,
        StepKind::Stage,
        StepKind::MaintenanceOn,
        StepKind::Drain,
        StepKind::Stop,
        StepKind::BackupDb,
        StepKind::Switch,
        StepKind::Migrate,
        StepKind::RestoreDb,
        StepKind::Start,
        StepKind::Join,
        StepKind::Checks,
        StepKind::MaintenanceOff,
        StepKind::ExportBackup,
        StepKind::Record,
    ];

    /// The kebab-case name used in output, the journal and JSON.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Preflight => "preflight",
            StepKind::BackupKeys => "backup-keys",
            StepKind::Stage => "stage",
            StepKind::MaintenanceOn => "maintenance-on",
            StepKind::Drain => "drain",
            StepKind::Stop => "stop",
            StepKind::BackupDb => "backup-db",
            StepKind::Switch => "switch",
            StepKind::Migrate => "migrate",
            StepKind::RestoreDb => "restore-db",
            StepKind::Start => "start",
            StepKind::Join => "join",
            StepKind::Checks => "checks",
            StepKind::MaintenanceOff => "maintenance-off",
            StepKind::ExportBackup => "export-backup",
            StepKind::Record => "record",
        }
    }
}

impl StepKind {
    /// The step named `name` in the journal.
    pub fn from_name(name: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The journal name of this step's undo.
    pub fn undo_name(self) -> String {
        format!("undo-{}", self.name())
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
