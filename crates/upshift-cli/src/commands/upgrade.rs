//! `upshift upgrade`: plan, confirm, run, report.

use super::confirm;
use crate::cli::UpgradeArgs;
use crate::output::{progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::operations::runs::{self, Action};
use upshift::Result;

pub fn run(inst: &Instance, args: &UpgradeArgs, json: bool) -> Result<i32> {
    let progress = Progress::new(json);
    let request = super::plan::request(&args.target)?;
    let prepared = runs::upgrade(inst, &request, args.on_failure.into(), &progress)?;
    if prepared.needs_approval() {
        if let (false, Action::Upgrade { plan, .. }) = (json, &prepared.action) {
            report::plan(plan);
        }
        if !args.yes {
            confirm("proceed with the upgrade?")?;
        }
    }
    let report = prepared.carry_out(inst, &progress)?;
    Ok(report::emit(&report, json))
}
