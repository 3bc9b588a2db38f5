//! Switch: point `current` at the new version, atomically; and back.
//!
//! On a cluster only the first node switches here (the others do in
//! `join`); switching back goes over every node, so that whatever a crash
//! left half-done ends on the old version everywhere.

use super::def::{Step, Undo, Words};
use crate::engine::run::nodes::on_nodes;
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::Result;

pub const SWITCH: Step = Step {
    kind: StepKind::Switch,
    in_window: true,
    words: Words::ByKind {
        upgrade: "point `current` at the new version (on a cluster: the first node)",
        rollback: "point `current` back at the earlier version (on a cluster: the first node)",
    },
    apply,
    undo: Undo::Run(back),
};

fn apply(ctx: &mut Ctx) -> Result<Done> {
    let to = ctx.bringing().clone();
    let switched = on_nodes(ctx, &[ctx.inst.primary()], |node| {
        if node.current()?.as_ref() == Some(&to) {
            return Ok(false);
        }
        node.switch(&to)?;
        Ok(true)
    })?;
    if !switched[0] {
        return Ok(Done::skipped(format!("current already points at {to}")));
    }
    Ok(Done::detail(format!("current -> versions/{to}")))
}

/// Undo of `switch`: point `current` at the old version again.
fn back(ctx: &mut Ctx) -> Result<Done> {
    let from = ctx.bringing().clone();
    let switched = on_nodes(ctx, &ctx.inst.all_nodes(), |node| {
        if node.current()?.as_ref() == Some(&from) {
            return Ok(false);
        }
        node.switch(&from)?;
        Ok(true)
    })?;
    if !switched.contains(&true) {
        return Ok(Done::skipped(format!("current already points at {from}")));
    }
    Ok(Done::detail(format!("current -> versions/{from}")))
}
