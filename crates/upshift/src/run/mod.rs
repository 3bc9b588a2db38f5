//! The run engine: carries a plan out step by step, journaled.
//!
//! Before a step acts, the journal records that it started; after, that it
//! finished (with its output, e.g. the id of the backup it took) or failed.
//! The journal is committed with `synchronous=FULL`, so after a crash the
//! state database says exactly which step was in flight.
//!
//! A failure before the maintenance window opened changed nothing on the
//! server: the run ends `failed` (exit 2 for bad input such as a checksum
//! mismatch, 1 otherwise). A failure inside the window stops the run as
//! `needs_operator` (exit 3) and `status` says where it stopped.

mod ctx;
mod report;
mod steps;

pub use ctx::{Ctx, Done};
pub use report::{Outcome, Report, StepReport};

use crate::error::Result;
use crate::events::{Event, Reporter};
use crate::instance::Instance;
use crate::plan::Plan;
use crate::state::{RunStatus, State};
use std::time::Instant;

/// Executes `plan` on `inst`. The caller holds the instance lock.
///
/// Errors are returned only when the journal itself cannot be written; a
/// failing step is reported in the [`Report`].
pub fn execute(
    inst: &Instance,
    state: &State,
    plan: &Plan,
    reporter: &dyn Reporter,
) -> Result<Report> {
    let plan_json = serde_json::to_value(plan).unwrap_or_default();
    let run_id = state.create_run("upgrade", &plan.from, &plan.to, &plan_json)?;
    reporter.report(&Event::RunStarted {
        run_id: run_id.clone(),
        from: plan.from.clone(),
        to: plan.to.clone(),
    });
    let mut ctx = Ctx::new(inst, state, &run_id, plan, reporter);
    let mut report = Report::new(&run_id, plan);
    let mut window: Option<Instant> = None;
    for (seq, planned) in plan.steps.iter().enumerate() {
        let step = planned.step;
        state.step_started(&run_id, seq, step.name(), step.reversible())?;
        reporter.report(&Event::StepStarted {
            step: step.name().into(),
            index: seq + 1,
            total: plan.steps.len(),
            in_window: step.in_window(),
        });
        if step.in_window() && window.is_none() {
            window = Some(Instant::now());
        }
        let started = Instant::now();
        let result = steps::apply(step, &mut ctx);
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(done) => {
                state.step_finished(&run_id, seq, ms, done.skipped, &done.output)?;
                reporter.report(&Event::StepFinished {
                    step: step.name().into(),
                    ms,
                    skipped: done.skipped,
                    detail: done.detail.clone(),
                });
                ctx.outputs.insert(step, done.output.clone());
                report.steps.push(StepReport::new(step, ms, &done));
            }
            Err(error) => {
                state.step_failed(&run_id, seq, ms, &error.chain())?;
                reporter.report(&Event::StepFailed {
                    step: step.name().into(),
                    ms,
                    error: error.chain(),
                });
                let window_ms = window.map(|w| w.elapsed().as_millis() as u64);
                let (status, outcome) = match window {
                    None => (RunStatus::Failed, Outcome::failed_untouched(&error)),
                    Some(_) => (RunStatus::NeedsOperator, Outcome::NeedsOperator),
                };
                state.finish_run(&run_id, status, window_ms, Some(&error.chain()))?;
                report.fail(step, ms, outcome, window_ms, &error);
                return Ok(report);
            }
        }
        if step.in_window() && is_last_in_window(plan, seq) {
            report.window_ms = window.map(|w| w.elapsed().as_millis() as u64);
        }
    }
    state.finish_run(&run_id, RunStatus::Succeeded, report.window_ms, None)?;
    report.outcome = Outcome::Upgraded;
    Ok(report)
}

fn is_last_in_window(plan: &Plan, seq: usize) -> bool {
    plan.steps[seq + 1..].iter().all(|s| !s.in_window)
}
