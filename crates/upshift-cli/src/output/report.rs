//! Plans and run reports, as text and as JSON.

use super::ms;
use super::{errln, outln};
use upshift::engine::plan::{Plan, RunKind};
use upshift::engine::run::{Outcome, Report};
use upshift::operations::output::{Output, Summary};
use upshift::operations::rehearse::Rehearsal;

/// Prints a plan as a table.
pub fn plan(plan: &Plan) {
    if plan.is_noop() {
        outln!("{}: already on {}; nothing to do", plan.instance, plan.from);
        return;
    }
    match plan.kind {
        RunKind::Upgrade => outln!(
            "{}: {} -> {} ({} upgrade)",
            plan.instance,
            plan.from,
            plan.to,
            plan.change
        ),
        RunKind::Rollback => outln!(
            "{}: roll back run {} from {} to {}",
            plan.instance,
            plan.rolls_back.as_deref().unwrap_or("?"),
            plan.from,
            plan.to
        ),
    }
    outln!("  #  step             window  undo  estimate   rehearsed  what");
    for (i, s) in plan.steps.iter().enumerate() {
        outln!(
            "{:>3}  {:<16} {:<6}  {:<4}  {:>9}  {:>9}  {}",
            i + 1,
            s.step.name(),
            if s.in_window { "yes" } else { "" },
            if s.reversible { "yes" } else { "no" },
            s.estimate_ms.map(ms).unwrap_or_else(|| "-".into()),
            s.rehearsed_ms.map(ms).unwrap_or_else(|| "-".into()),
            s.description
        );
    }
    match plan.window_estimate_ms {
        Some(w) => outln!(
            "estimated maintenance window: {} (from earlier runs)",
            ms(w)
        ),
        None => outln!("estimated maintenance window: unknown (no earlier run of every step)"),
    }
    if let Some(r) = &plan.rehearsal {
        match r.window_ms {
            Some(w) => outln!(
                "rehearsed maintenance window: {} (rehearsal {} at {}: {})",
                ms(w),
                r.id,
                r.at,
                r.outcome
            ),
            None => outln!(
                "rehearsal {} at {} ended {}: no window to predict; see its report",
                r.id,
                r.at,
                r.outcome
            ),
        }
    }
}

/// Prints a rehearsal's result.
pub fn rehearsal(r: &Rehearsal) {
    let verb = match r.outcome {
        Outcome::Upgraded => "rehearsed:",
        Outcome::RolledBack => "rehearsal FAILED (rolled back in the clone):",
        _ => "rehearsal FAILED:",
    };
    outln!();
    outln!("{verb} {} {} -> {} on a clone", r.instance, r.from, r.to);
    outln!("  #  step             window  rehearsal  predicted");
    for (i, s) in r.steps.iter().enumerate() {
        outln!(
            "{:>3}  {:<16} {:<6}  {:>9}  {:>9}{}",
            i + 1,
            s.step,
            if s.in_window { "yes" } else { "" },
            ms(s.ms),
            ms(s.predicted_ms),
            if s.failed { "  FAILED" } else { "" }
        );
    }
    if let Some(w) = r.predicted_window_ms {
        outln!("predicted maintenance window for production: {}", ms(w));
    }
    match r.kept {
        true => outln!(
            "clone kept: upshift -c {} ...",
            r.clone.instance_file.display()
        ),
        false => outln!("clone torn down"),
    }
    outln!(
        "report: {} and {}",
        r.report_md.display(),
        r.report_json.display()
    );
}

/// Prints a run's report (text or the JSON summary) and returns its exit code.
pub fn emit(report: &Report, json: bool) -> i32 {
    if json {
        super::json_line(&Output::Summary(Summary::of_report(report)));
        errors(report);
    } else {
        run(report);
    }
    report.outcome.exit_code()
}

/// Prints a run's report.
pub fn run(report: &Report) {
    let verb = match report.outcome {
        Outcome::Upgraded => "done:",
        Outcome::Reverted => "rolled back:",
        Outcome::RolledBack => "FAILED and rolled back:",
        Outcome::NothingToDo => "nothing to do for",
        Outcome::Refused | Outcome::Failed => "FAILED (nothing changed):",
        Outcome::NeedsOperator => "STOPPED, needs an operator:",
    };
    outln!();
    outln!(
        "{verb} {} {} -> {}",
        report.instance,
        report.from,
        report.to
    );
    if let Some(window) = report.window_ms {
        outln!("maintenance window: {}", ms(window));
        let mut accounted = 0;
        for (step, share) in report.shares() {
            let name = match step.earlier {
                true => format!("{} (earlier)", step.step),
                false => step.step.clone(),
            };
            outln!("  {:<28} {:>9}  {:>5.1}%", name, ms(step.ms), share);
            accounted += step.ms;
        }
        let rest = window.saturating_sub(accounted);
        outln!(
            "  {:<28} {:>9}  {:>5.1}%",
            "(journal, between)",
            ms(rest),
            100.0 * rest as f64 / window.max(1) as f64
        );
    }
    node_timings(report);
    errors(report);
}

/// Each node's part of each step of a cluster's run.
fn node_timings(report: &Report) {
    let with_nodes: Vec<_> = report
        .steps
        .iter()
        .filter(|s| !s.nodes.is_empty())
        .collect();
    if with_nodes.is_empty() {
        return;
    }
    outln!("per node:");
    for step in with_nodes {
        let parts: Vec<String> = step
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{} {}{}",
                    n.node,
                    ms(n.ms),
                    if n.ok { "" } else { " FAILED" }
                )
            })
            .collect();
        outln!("  {:<20} {}", step.step, parts.join(", "));
    }
}

/// Prints a failed run's error and hint on stderr (also in `--json` mode,
/// where stdout carries only JSON).
pub fn errors(report: &Report) {
    if let Some(error) = &report.error {
        errln!("error: {error}");
        if let Some(hint) = &report.hint {
            errln!("  hint: {hint}");
        }
        if report.outcome.exit_code() == 3 {
            errln!("the run stopped inside the maintenance window: see `upshift status`");
        }
    }
}
