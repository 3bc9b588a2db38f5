//! `upshift upgrade`: plan, confirm, run, report.

use crate::cli::UpgradeArgs;
use crate::output::{self, progress::Progress, report};
use std::io::{BufRead, IsTerminal, Write};
use upshift::instance::Instance;
use upshift::run::{self, Report};
use upshift::{plan, Error, Result};

pub fn run(inst: &Instance, args: &UpgradeArgs) -> Result<i32> {
    let json = args.target.json;
    let _lock = inst.lock("upgrade")?;
    let state = inst.state()?;
    if let Some(run) = state.unfinished_run()? {
        return Err(Error::input(format!(
            "run {} ({} -> {}) did not finish: it is {}",
            run.id,
            run.from,
            run.to,
            run.status.as_str()
        ))
        .hint("see `upshift status` for where it stopped and what to do; a new upgrade waits until it is settled"));
    }
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
            confirm()?;
        }
        run::execute(inst, &state, &plan, &progress)?
    };
    if json {
        output::json_line(&report::run_json(&report));
        report::errors(&report);
    } else {
        report::run(&report);
    }
    Ok(report.outcome.exit_code())
}

/// Asks on a terminal; refuses without one.
fn confirm() -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::input("not on a terminal and --yes not given")
            .hint("pass --yes to upgrade without a prompt"));
    }
    print!("proceed with the upgrade? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::input("upgrade cancelled; nothing changed"))
    }
}
