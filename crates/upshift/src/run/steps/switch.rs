//! Switch: point `current` at the new version, atomically; and back.
//!
//! With `install.activate` (an installer that can only install in place),
//! the version is activated first and the link moved after, so a link at a
//! version means it was activated: a resumed run that finds `current`
//! already moved has nothing left to do.

use crate::error::Result;
use crate::run::{Ctx, Done};
use crate::Version;

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    let to = ctx.to.clone();
    let vars = ctx.vars.clone();
    point_at(ctx, &to, &vars)
}

/// Undo of `switch`: point `current` at the old version again (activating
/// it first, with `{from}` naming the version being left).
pub fn back(ctx: &mut Ctx) -> Result<Done> {
    let from = ctx.from.clone();
    let vars = ctx.inst.vars(Some(&ctx.to), &from);
    point_at(ctx, &from, &vars)
}

fn point_at(ctx: &mut Ctx, v: &Version, vars: &crate::template::Vars) -> Result<Done> {
    let install = &ctx.inst.install;
    if install.current()?.as_ref() == Some(v) {
        return Ok(Done::skipped(format!("current already points at {v}")));
    }
    let activated = install.activate(v, vars)?;
    install.switch(v)?;
    Ok(Done::detail(match activated {
        true => format!("{v} activated (install.activate); current -> versions/{v}"),
        false => format!("current -> versions/{v}"),
    }))
}
