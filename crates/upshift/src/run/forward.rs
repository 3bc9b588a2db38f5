//! Going forward: the plan's steps in order, each journaled before and
//! after it acts.

use super::{finish, steps, undo, Ctx, OnFailure, Outcome, StepReport};
use crate::error::Result;
use crate::events::Event;
use crate::failpoint;
use crate::plan::RunKind;
use crate::state::RunStatus;
use std::time::Instant;

/// Runs the plan's steps from index `from` on.
pub fn drive(ctx: &mut Ctx, from: usize) -> Result<super::Report> {
    let plan = ctx.plan;
    for planned in &plan.steps[from..] {
        let step = planned.step;
        let seq = ctx.seq_of(step);
        ctx.state
            .step_started(ctx.run_id, seq, step.name(), step.reversible())?;
        if !ctx.started.contains(&step) {
            ctx.started.push(step);
        }
        ctx.reporter.report(&Event::StepStarted {
            step: step.name().into(),
            index: plan.steps.iter().position(|s| s.step == step).unwrap_or(0) + 1,
            total: plan.steps.len(),
            in_window: step.in_window(),
        });
        if step.in_window() {
            ctx.open_window();
        }
        let started = Instant::now();
        let result = failpoint::hit(&format!("before-{}", step.name()))
            .and_then(|()| steps::apply(step, ctx))
            .and_then(|done| failpoint::hit(&format!("after-{}", step.name())).map(|()| done));
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(done) => {
                ctx.state
                    .step_finished(ctx.run_id, seq, ms, done.skipped, &done.output)?;
                ctx.reporter.report(&Event::StepFinished {
                    step: step.name().into(),
                    ms,
                    skipped: done.skipped,
                    detail: done.detail.clone(),
                });
                ctx.report.steps.push(StepReport::new(step, ms, &done));
                ctx.outputs.insert(step, done.output);
                if step.in_window()
                    && plan
                        .steps
                        .iter()
                        .skip_while(|s| s.step != step)
                        .skip(1)
                        .all(|s| !s.in_window)
                {
                    ctx.close_window();
                }
            }
            Err(error) => {
                ctx.state.step_failed(ctx.run_id, seq, ms, &error.chain())?;
                ctx.reporter.report(&Event::StepFailed {
                    step: step.name().into(),
                    ms,
                    error: error.chain(),
                });
                ctx.report.push_failed(step, ms, &error);
                if !ctx.window_was_opened() {
                    let outcome = Outcome::failed_untouched(&error);
                    return finish(ctx, RunStatus::Failed, outcome, Some(&error));
                }
                return match ctx.on_failure {
                    OnFailure::Stop => finish(
                        ctx,
                        RunStatus::NeedsOperator,
                        Outcome::NeedsOperator,
                        Some(&error),
                    ),
                    OnFailure::Rollback => undo::all(ctx, Some(error)),
                };
            }
        }
    }
    let outcome = match plan.kind {
        RunKind::Upgrade => Outcome::Upgraded,
        RunKind::Rollback => Outcome::Reverted,
    };
    finish(ctx, RunStatus::Succeeded, outcome, None)
}
