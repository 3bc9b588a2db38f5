//! `upshift rollback`: undo an unfinished run from its journal, or go back
//! from the last succeeded upgrade to the version before it, with its data.
//! Which of the two is the engine's decision (`operations::runs`).

use super::confirm;
use crate::cli::RollbackArgs;
use crate::output::outln;
use crate::output::{progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::engine::plan::RollbackRequest;
use upshift::operations::runs::{self, Action};
use upshift::Result;

pub fn run(inst: &Instance, args: &RollbackArgs, json: bool) -> Result<i32> {
    let progress = Progress::new(json);
    let request = RollbackRequest {
        run: args.run.clone(),
        discard_newer_data: args.discard_newer_data,
        force: args.force,
    };
    let prepared = runs::rollback(inst, &request, &progress)?;
    if !json {
        match &prepared.action {
            Action::UndoUnfinished { run, .. } => outln!(
                "rolling back unfinished run {} ({} -> {})",
                run.id,
                run.from,
                run.to
            ),
            Action::Rollback { plan } => report::plan(plan),
            Action::Upgrade { .. } | Action::Resume { .. } => {}
        }
    }
    if prepared.needs_approval() && !args.yes {
        confirm("proceed with the rollback?")?;
    }
    let report = prepared.carry_out(inst, &progress)?;
    Ok(report::emit(&report, json))
}
