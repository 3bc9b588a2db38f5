//! Record: enter the upgrade in the install history; its undo takes the
//! entry out again, so the history never shows a version that was undone.

use super::def::{Step, Undo, Words};
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::Result;

pub const RECORD: Step = Step {
    kind: StepKind::Record,
    in_window: false,
    words: Words::ByKind {
        upgrade: "record the upgrade in the history",
        rollback: "record the rollback in the history",
    },
    apply,
    undo: Undo::Run(forget),
};

fn apply(ctx: &mut Ctx) -> Result<Done> {
    if ctx.state.history()?.iter().any(|h| h.run_id == ctx.run_id) {
        return Ok(Done::skipped("already in the history"));
    }
    ctx.state
        .record_install(ctx.run_id, &ctx.from.to_string(), &ctx.to.to_string())?;
    Ok(Done::detail(format!("history: {} -> {}", ctx.from, ctx.to)))
}

/// Undo of `record`: the run was rolled back after all.
fn forget(ctx: &mut Ctx) -> Result<Done> {
    ctx.state.forget_install(ctx.run_id)?;
    Ok(Done::detail("removed from the history"))
}
