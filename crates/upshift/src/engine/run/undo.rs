//! Going back: every step that started is undone in reverse order, each
//! undo journaled as `undo-<step>`, so a rollback interrupted by a crash is
//! itself resumed.

use super::{finish, journaled, steps, Ctx, Outcome, Slot, StepReport};
use crate::engine::state::RunStatus;
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};
use crate::support::interrupt;

/// Undoes what the run did. `cause` is the failure that started the
/// rollback (none when an operator asked for it).
pub fn all(ctx: &mut Ctx, cause: Option<Error>) -> Result<super::Report> {
    // Going back is what brings the instance back: a signal stops nothing now.
    interrupt::rolling_back();
    ctx.turn_back();
    let pending: Vec<StepKind> = ctx
        .started
        .iter()
        .rev()
        .copied()
        .filter(|s| !ctx.undone.contains(s) && steps::has_undo(*s, ctx))
        .collect();
    if pending.iter().any(|s| steps::of(*s).in_window) {
        ctx.open_window();
    }
    // Numbered as the journal numbers them (as `status` shows them).
    let total = ctx.next_seq + pending.len();
    let mut forced: Vec<String> = Vec::new();
    for step in pending {
        let name = step.undo_name();
        // After a skipped undo the server's state is unknown: do not start
        // it or open it to users; that is left to the operator.
        if !forced.is_empty() && matches!(step, StepKind::Stop | StepKind::MaintenanceOn) {
            forced.push(format!(
                "{name}: left for the operator after a skipped undo"
            ));
            continue;
        }
        let slot = Slot {
            seq: ctx.next_seq,
            name: &name,
            reversible: false,
            total,
            in_window: true,
        };
        ctx.next_seq += 1;
        let (ms, result) = journaled(ctx, slot, |ctx| steps::undo(step, ctx))?;
        let in_window = steps::of(step).in_window;
        let nodes = std::mem::take(&mut ctx.node_timings);
        match result {
            Ok(done) => {
                let mut report = StepReport::undo(step, in_window, ms, &done);
                report.nodes = nodes;
                ctx.report.steps.push(report);
                ctx.undone.push(step);
            }
            Err(error) => {
                let report = StepReport::failed_undo(step, in_window, ms, &error, nodes);
                ctx.report.steps.push(report);
                if ctx.force_undo {
                    forced.push(format!("{name}: {}", error.chain()));
                    continue;
                }
                let advice = format!(
                    "`upshift status` shows the state of every part; fix the cause and run `upshift rollback` to finish the rollback{}",
                    cause.as_ref().map(|c| format!(" (the upgrade failed first: {})", c.chain())).unwrap_or_default()
                );
                // The failed undo's own hint (a server's last log lines)
                // and the first failure's are what the operator needs most.
                let hints: Vec<&str> = [
                    error.hint_text(),
                    Some(&advice),
                    cause.as_ref().and_then(Error::hint_text),
                ]
                .into_iter()
                .flatten()
                .collect();
                let error = Error::failed(format!("rollback failed in {name}: {}", error.chain()))
                    .hint(hints.join("\n"));
                return finish(
                    ctx,
                    RunStatus::NeedsOperator,
                    Outcome::NeedsOperator,
                    Some(&error),
                );
            }
        }
    }
    if !forced.is_empty() {
        let error = Error::failed(format!(
            "rolled back with --force; these undo steps failed and were skipped: {}",
            forced.join("; ")
        ))
        .hint("the run is settled, but the instance may not be healthy: check it with `upshift status` and `upshift check`, and see docs/recovery.md for restoring by hand");
        return finish(ctx, RunStatus::Failed, Outcome::NeedsOperator, Some(&error));
    }
    let outcome = if ctx.window_was_opened() {
        Outcome::RolledBack
    } else {
        Outcome::Failed
    };
    let status = if outcome == Outcome::RolledBack {
        RunStatus::RolledBack
    } else {
        RunStatus::Failed
    };
    finish(ctx, status, outcome, cause.as_ref())
}
