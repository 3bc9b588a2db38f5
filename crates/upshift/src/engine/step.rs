//! The steps of an upgrade, and what each one promises.
//!
//! A step is a name with three properties the plan shows and the engine
//! relies on: whether it runs inside the maintenance window, whether it can
//! be undone, and a one-line description. What a step does lives in
//! `run/steps/`, one file per step.

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

    /// Whether the step runs while the server is in maintenance.
    pub fn in_window(self) -> bool {
        matches!(
            self,
            StepKind::MaintenanceOn
                | StepKind::Drain
                | StepKind::Stop
                | StepKind::BackupDb
                | StepKind::Switch
                | StepKind::Migrate
                | StepKind::RestoreDb
                | StepKind::Start
                | StepKind::Join
                | StepKind::Checks
                | StepKind::MaintenanceOff
        )
    }

    /// Whether the step can be undone. Every step of the standard run can:
    /// what makes a run irreversible is a database backup that can no
    /// longer be restored, which `rollback` checks and refuses on.
    pub fn reversible(self) -> bool {
        true
    }

    /// What the step does, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            StepKind::Preflight => "check disk space, database, service and current health",
            StepKind::BackupKeys => "back up the keys into an encrypted bundle (when they changed)",
            StepKind::Stage => "download, verify and unpack the new release beside the old one",
            StepKind::MaintenanceOn => "turn maintenance mode on",
            StepKind::Drain => "wait for running work to finish",
            StepKind::Stop => "stop the service (every node) and prove it is gone",
            StepKind::BackupDb => "back up the database and verify the backup",
            StepKind::Switch => "point `current` at the new version (on a cluster: the first node)",
            StepKind::Migrate => "upgrade the database schema, once, with every node stopped",
            StepKind::RestoreDb => "restore the database from the upgrade's backup",
            StepKind::Start => "start the new version (on a cluster: the first node, and check it)",
            StepKind::Join => "switch and start the other nodes, in parallel",
            StepKind::Checks => "prove the new version works",
            StepKind::MaintenanceOff => "turn maintenance mode off",
            StepKind::ExportBackup => "export the in-server snapshot as a portable, verified dump",
            StepKind::Record => "record the upgrade in the history",
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
