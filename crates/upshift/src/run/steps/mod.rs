//! What each step does, one file per step (or per pair of opposites).
//!
//! Every step is written to be safe to run again after a crash: it first
//! looks whether its work is already done (the version already staged, the
//! link already switched, the service already stopped).

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
use crate::error::Result;
use crate::step::StepKind;

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
        StepKind::Start => service::start(ctx),
        StepKind::Checks => checks::apply(ctx),
        StepKind::MaintenanceOff => maintenance::set(ctx, false),
        StepKind::Record => record::apply(ctx),
    }
}
