//! `upshift resume`: carry an interrupted run on from its journal.

use crate::cli::ResumeArgs;
use crate::output::outln;
use crate::output::{progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::operations::runs::{self, Action};
use upshift::Result;

pub fn run(inst: &Instance, args: &ResumeArgs, json: bool) -> Result<i32> {
    let prepared = runs::resume(inst, args.on_failure.into())?;
    if let (false, Action::Resume { run, .. }) = (json, &prepared.action) {
        outln!(
            "resuming run {} ({} -> {}), {}",
            run.id,
            run.from,
            run.to,
            run.status.as_str()
        );
    }
    let progress = Progress::new(json);
    let report = prepared.carry_out(inst, &progress)?;
    Ok(report::emit(&report, json))
}
