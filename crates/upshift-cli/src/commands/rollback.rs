//! `upshift rollback`: undo an unfinished run from its journal, or go back
//! from the last succeeded upgrade to the version before it, with its data.

use super::confirm;
use crate::cli::RollbackArgs;
use crate::output::{progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::engine::plan::{self, RollbackRequest};
use upshift::engine::run::{self, OnFailure};
use upshift::{Error, Result};

pub fn run(inst: &Instance, args: &RollbackArgs) -> Result<i32> {
    let _lock = inst.lock("rollback")?;
    let state = inst.state()?;
    let progress = Progress::new(args.json);
    if let Some(unfinished) = state.unfinished_run()? {
        if args.run.as_ref().is_some_and(|id| id != &unfinished.id) {
            return Err(Error::input(format!(
                "run {} is unfinished; settle it before rolling back another run",
                unfinished.id
            ))
            .hint("`upshift rollback` without --run undoes the unfinished run"));
        }
        if !args.json {
            println!(
                "rolling back unfinished run {} ({} -> {})",
                unfinished.id, unfinished.from, unfinished.to
            );
        }
        let report = run::rollback_unfinished(
            inst,
            &state,
            &unfinished,
            args.force,
            args.discard_newer_data,
            &progress,
        )?;
        return Ok(report::emit(&report, args.json));
    }
    let request = RollbackRequest {
        run: args.run.clone(),
        discard_newer_data: args.discard_newer_data,
        force: args.force,
    };
    let plan = plan::rollback(inst, &state, &request, &progress)?;
    if !args.json {
        report::plan(&plan);
    }
    if !args.yes {
        confirm("proceed with the rollback?")?;
    }
    let report = run::execute(inst, &state, &plan, OnFailure::Rollback, &progress)?;
    Ok(report::emit(&report, args.json))
}
