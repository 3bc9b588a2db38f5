//! What each step does and how it is undone, one file per step (or per
//! pair of opposites).
//!
//! Every step and every undo is written to be safe to run again after a
//! crash: it first looks whether its work is already done (the version
//! already staged, the link already switched, the service already stopped).

mod backup;
mod checks;
mod maintenance;
mod migrate;
mod preflight;
mod record;
mod service;
mod stage;
mod switch;

use super::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::Result;

/// Runs one step.
pub fn apply(step: StepKind, ctx: &mut Ctx) -> Result<Done> {
    match step {
        StepKind::Preflight => preflight::apply(ctx),
        StepKind::BackupKeys => backup::keys(ctx),
        StepKind::Stage => stage::apply(ctx),
        StepKind::MaintenanceOn => maintenance::set(ctx, true),
        StepKind::Drain => maintenance::drain(ctx),
        StepKind::Stop => service::stop(ctx),
        StepKind::BackupDb => backup::database(ctx),
        StepKind::Switch => switch::apply(ctx),
        StepKind::Migrate => migrate::apply(ctx),
        StepKind::RestoreDb => backup::restore(ctx),
        StepKind::Start => service::start(ctx),
        StepKind::Join => service::join(ctx),
        StepKind::Checks => checks::apply(ctx),
        StepKind::MaintenanceOff => maintenance::set(ctx, false),
        StepKind::ExportBackup => backup::export(ctx),
        StepKind::Record => record::apply(ctx),
    }
}

/// Whether `step`, once started, has something to undo.
pub fn has_undo(step: StepKind) -> bool {
    matches!(
        step,
        StepKind::MaintenanceOn
            | StepKind::Stop
            | StepKind::Switch
            | StepKind::Start
            | StepKind::Join
            | StepKind::MaintenanceOff
            | StepKind::BackupDb
            | StepKind::Record
    )
}

/// Undoes one step (only called where [`has_undo`] is true).
pub fn undo(step: StepKind, ctx: &mut Ctx) -> Result<Done> {
    match step {
        StepKind::MaintenanceOn => maintenance::set(ctx, false),
        StepKind::MaintenanceOff => maintenance::set(ctx, true),
        StepKind::Stop => service::restart_old(ctx),
        StepKind::BackupDb => backup::restore_own(ctx),
        StepKind::Switch => switch::back(ctx),
        StepKind::Start => service::stop(ctx),
        StepKind::Join => service::leave(ctx),
        StepKind::Record => record::forget(ctx),
        other => Ok(Done::skipped(format!("{other} has nothing to undo"))),
    }
}
