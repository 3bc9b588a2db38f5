//! `upshift resume`: carry an interrupted run on from its journal.

use crate::cli::ResumeArgs;
use crate::output::outln;
use crate::output::{progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::engine::run;
use upshift::{Error, Result};

pub fn run(inst: &Instance, args: &ResumeArgs) -> Result<i32> {
    let _lock = inst.lock("resume")?;
    let state = inst.state()?;
    let run = state.unfinished_run()?.ok_or_else(|| {
        Error::input("there is no unfinished run to resume")
            .hint("`upshift status` shows the last run")
    })?;
    let progress = Progress::new(args.json);
    if !args.json {
        outln!(
            "resuming run {} ({} -> {}), {}",
            run.id,
            run.from,
            run.to,
            run.status.as_str()
        );
    }
    let report = run::resume(inst, &state, &run, args.on_failure.into(), &progress)?;
    Ok(report::emit(&report, args.json))
}
