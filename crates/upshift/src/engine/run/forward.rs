//! Going forward: the plan's steps in order, each journaled before and
//! after it acts.

use super::{finish, journaled, steps, undo, Ctx, OnFailure, Outcome, Slot, StepReport};
use crate::engine::plan::model::RunKind;
use crate::engine::state::RunStatus;
use crate::support::error::{Error, ErrorKind, Result};
use crate::support::interrupt;

/// Runs the plan's steps from index `from` on. A signal received meanwhile
/// ends the run before the next step, as a failure would.
pub fn drive(ctx: &mut Ctx, from: usize) -> Result<super::Report> {
    let plan = ctx.plan;
    for planned in &plan.steps[from..] {
        if let Some(signal) = interrupt::pending() {
            let error = Error::failed(format!("interrupted by {signal}"))
                .hint("upshift was asked to stop; `upshift status` shows where the run ended");
            return failed(ctx, error);
        }
        let step = planned.step;
        let def = steps::of(step);
        if !ctx.started.contains(&step) {
            ctx.started.push(step);
        }
        if def.in_window {
            ctx.open_window();
        }
        let slot = Slot {
            seq: ctx.seq_of(step),
            name: step.name(),
            reversible: def.reversible(),
            total: plan.steps.len(),
            in_window: def.in_window,
        };
        let (ms, result) = journaled(ctx, slot, |ctx| steps::apply(step, ctx))?;
        match result {
            Ok(done) => {
                let mut report = StepReport::new(step, def.in_window, ms, &done);
                report.nodes = std::mem::take(&mut ctx.node_timings);
                ctx.report.steps.push(report);
                ctx.outputs.insert(step, done.output);
                if ctx.closes_window(step) {
                    ctx.close_window();
                }
            }
            Err(error) => {
                let nodes = std::mem::take(&mut ctx.node_timings);
                ctx.report
                    .push_failed(step, def.in_window, ms, &error, nodes);
                return failed(ctx, error);
            }
        }
    }
    let outcome = match plan.kind {
        RunKind::Upgrade => Outcome::Upgraded,
        RunKind::Rollback => Outcome::Reverted,
    };
    finish(ctx, RunStatus::Succeeded, outcome, None)
}

/// Ends a run that cannot go on because of `error`: untouched before the
/// window, waiting for an unreachable node, stopped (`--on-failure stop`)
/// or rolled back.
fn failed(ctx: &mut Ctx, error: Error) -> Result<super::Report> {
    if !ctx.window_was_opened() {
        let outcome = Outcome::failed_untouched(&error);
        return finish(ctx, RunStatus::Failed, outcome, Some(&error));
    }
    if error.kind() == ErrorKind::Unreachable {
        // Half a cluster cannot be rolled back: wait for the node.
        let error = error.hint("the journal (`upshift status`) says what each node has done; once the node answers, `upshift resume` carries on (or `upshift rollback` goes back)");
        return finish(
            ctx,
            RunStatus::NeedsOperator,
            Outcome::NeedsOperator,
            Some(&error),
        );
    }
    match ctx.on_failure {
        OnFailure::Stop => finish(
            ctx,
            RunStatus::NeedsOperator,
            Outcome::NeedsOperator,
            Some(&error),
        ),
        OnFailure::Rollback => undo::all(ctx, Some(error)),
    }
}
