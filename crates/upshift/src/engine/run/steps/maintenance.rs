//! Maintenance mode on and off, and the drain in between.

use super::def::{Step, Undo, Words};
use crate::drivers::drain;
use crate::engine::plan::model::RunKind;
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};

pub const MAINTENANCE_ON: Step = Step {
    kind: StepKind::MaintenanceOn,
    in_window: true,
    words: Words::Same("turn maintenance mode on"),
    apply: on,
    undo: Undo::Run(off),
};

pub const DRAIN: Step = Step {
    kind: StepKind::Drain,
    in_window: true,
    words: Words::Same("wait for running work to finish"),
    apply: drain,
    undo: Undo::Nothing,
};

pub const MAINTENANCE_OFF: Step = Step {
    kind: StepKind::MaintenanceOff,
    in_window: true,
    words: Words::Same("turn maintenance mode off"),
    apply: off,
    undo: Undo::Run(on),
};

fn on(ctx: &mut Ctx) -> Result<Done> {
    set(ctx, true)
}

fn off(ctx: &mut Ctx) -> Result<Done> {
    set(ctx, false)
}

fn set(ctx: &mut Ctx, on: bool) -> Result<Done> {
    if on && server_down_in_rollback(ctx)? {
        return Ok(Done::skipped(
            "the server is down: nothing to put in maintenance",
        ));
    }
    let maintenance = &ctx.inst.maintenance;
    if maintenance.status().ok().flatten() == Some(on) {
        return Ok(Done::skipped(format!(
            "maintenance already {}",
            if on { "on" } else { "off" }
        )));
    }
    maintenance.set(on)?;
    Ok(Done::detail(format!(
        "maintenance {} ({})",
        if on { "on" } else { "off" },
        maintenance.action(on)
    )))
}

/// In a rollback run, the version being left may be down; then there is no
/// maintenance API to call and no work to drain.
fn server_down_in_rollback(ctx: &Ctx) -> Result<bool> {
    if ctx.plan.kind != RunKind::Rollback {
        return Ok(false);
    }
    for node in &ctx.inst.nodes {
        if node.is_running()? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn drain(ctx: &mut Ctx) -> Result<Done> {
    if server_down_in_rollback(ctx)? {
        return Ok(Done::skipped("the server is down: no work to drain"));
    }
    let cfg = ctx
        .inst
        .loaded
        .file
        .drain
        .as_ref()
        .ok_or_else(|| Error::failed("no [drain] section"))?;
    let waited = drain::wait(cfg, &ctx.inst.client, &|_| {})?;
    Ok(Done::detail(format!(
        "no work running (waited {} ms)",
        waited.as_millis()
    )))
}
