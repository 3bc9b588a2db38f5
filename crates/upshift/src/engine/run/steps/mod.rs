//! What each step does and how it is undone, one file per step (or per
//! group of related steps), each defining its steps once ([`Step`]).
//!
//! Every step and every undo is written to be safe to run again after a
//! crash: it first looks whether its work is already done (the version
//! already staged, the link already switched, the service already stopped).

mod backup;
mod checks;
mod def;
mod maintenance;
mod migrate;
mod preflight;
mod record;
mod service;
mod stage;
mod switch;
#[cfg(test)]
mod templates;

pub use def::{Act, Step, Undo};
pub use service::START_MIGRATING;

use super::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::Result;

/// The definition of `step`.
pub fn of(step: StepKind) -> &'static Step {
    match step {
        StepKind::Preflight => &preflight::PREFLIGHT,
        StepKind::BackupKeys => &backup::BACKUP_KEYS,
        StepKind::Stage => &stage::STAGE,
        StepKind::MaintenanceOn => &maintenance::MAINTENANCE_ON,
        StepKind::Drain => &maintenance::DRAIN,
        StepKind::Stop => &service::STOP,
        StepKind::BackupDb => &backup::BACKUP_DB,
        StepKind::Switch => &switch::SWITCH,
        StepKind::Migrate => &migrate::MIGRATE,
        StepKind::RestoreDb => &backup::RESTORE_DB,
        StepKind::Start => &service::START,
        StepKind::Join => &service::JOIN,
        StepKind::Checks => &checks::CHECKS,
        StepKind::MaintenanceOff => &maintenance::MAINTENANCE_OFF,
        StepKind::ExportBackup => &backup::EXPORT_BACKUP,
        StepKind::Record => &record::RECORD,
    }
}

/// Runs one step.
pub fn apply(step: StepKind, ctx: &mut Ctx) -> Result<Done> {
    (of(step).apply)(ctx)
}

/// Whether `step`, once started, has an undo to run.
pub fn has_undo(step: StepKind, ctx: &Ctx) -> bool {
    match of(step).undo {
        Undo::Run(_) => true,
        Undo::RunIfDone(_) => ctx.outputs.contains_key(&step),
        Undo::Nothing | Undo::Kept | Undo::With(_) => false,
    }
}

/// Undoes one step (only called where [`has_undo`] is true).
pub fn undo(step: StepKind, ctx: &mut Ctx) -> Result<Done> {
    match of(step).undo {
        Undo::Run(act) | Undo::RunIfDone(act) => act(ctx),
        Undo::Nothing | Undo::Kept | Undo::With(_) => {
            Ok(Done::skipped(format!("{step} has nothing to undo")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_defined_under_its_own_name() {
        for kind in StepKind::ALL {
            assert_eq!(of(kind).kind, kind);
            assert_eq!(StepKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn what_a_rollback_leaves_is_said_per_step() {
        let kept: Vec<&str> = StepKind::ALL
            .into_iter()
            .filter(|k| !of(*k).reversible())
            .map(StepKind::name)
            .collect();
        assert_eq!(kept, ["backup-keys", "stage", "export-backup"]);
        for kind in [StepKind::Migrate, StepKind::RestoreDb] {
            assert!(matches!(of(kind).undo, Undo::With(StepKind::BackupDb)));
        }
    }
}
