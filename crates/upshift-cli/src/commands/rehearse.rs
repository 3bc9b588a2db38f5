//! `upshift rehearse`: the upgrade tried on a clone first, with a report.

use crate::cli::RehearseArgs;
use crate::output::errln;
use crate::output::{self, progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::operations::output::{Output, RehearsalSummary};
use upshift::operations::rehearse::{self, RehearseRequest};
use upshift::Result;

pub fn run(inst: &Instance, args: &RehearseArgs, json: bool) -> Result<i32> {
    let request = RehearseRequest {
        plan: super::plan::request(&args.target)?,
        keep: args.keep,
        fresh_backup: args.fresh_backup,
    };
    let rehearsal = rehearse::rehearse(inst, &request, &Progress::new(json))?;
    if json {
        output::json_line(&Output::Rehearsal(RehearsalSummary::of(&rehearsal)));
    } else {
        report::rehearsal(&rehearsal);
    }
    if let Some(error) = &rehearsal.error {
        errln!("error (in the clone): {error}");
        if let Some(hint) = &rehearsal.hint {
            errln!("  hint: {hint}");
        }
    }
    if let Some(error) = &rehearsal.teardown_error {
        errln!("error: the clone could not be torn down: {error}");
    }
    Ok(rehearsal.exit_code())
}
