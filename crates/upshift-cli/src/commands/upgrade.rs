//! `upshift upgrade`: plan, confirm, run, report.

use super::{confirm, refuse_unfinished};
use crate::cli::UpgradeArgs;
use crate::output::{progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::engine::plan;
use upshift::engine::run::{self, Report};
use upshift::Result;

pub fn run(inst: &Instance, args: &UpgradeArgs) -> Result<i32> {
    let json = args.target.json;
    let _lock = inst.lock("upgrade")?;
    let state = inst.state()?;
    refuse_unfinished(&state)?;
    let progress = Progress::new(json);
    let plan = plan::make(
        inst,
        &state,
        &super::plan::request(&args.target)?,
        &progress,
    )?;
    let report = if plan.is_noop() {
        Report::nothing_to_do(&plan)
    } else {
        if !json {
            report::plan(&plan);
        }
        if !args.yes {
            confirm("proceed with the upgrade?")?;
        }
        run::execute(inst, &state, &plan, args.on_failure.into(), &progress)?
    };
    Ok(report::emit(&report, json))
}
