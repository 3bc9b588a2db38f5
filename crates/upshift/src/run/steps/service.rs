//! Stopping the old version and starting the new one, and the reverse.

use crate::error::Result;
use crate::run::{Ctx, Done};

pub fn stop(ctx: &mut Ctx) -> Result<Done> {
    let service = &ctx.inst.service;
    if !service.is_running()? {
        return Ok(Done::skipped("service already stopped"));
    }
    service.stop()?;
    Ok(Done::detail(format!("stopped {}", service.describe())))
}

pub fn start(ctx: &mut Ctx) -> Result<Done> {
    let service = &ctx.inst.service;
    if service.is_running()? {
        return Ok(Done::skipped("service already running"));
    }
    service.start(&ctx.vars)?;
    Ok(Done::detail(format!(
        "started {} on {}",
        service.describe(),
        ctx.to
    )))
}

/// Undo of `stop`: start the version `current` points at again (the old one,
/// once `switch` is undone) and prove it works.
pub fn restart_old(ctx: &mut Ctx) -> Result<Done> {
    let service = &ctx.inst.service;
    if !service.is_running()? {
        // Templated for the old version: `{version}` and `{dir}` must not
        // name the version being rolled back.
        service.start(&ctx.inst.vars(None, &ctx.from))?;
    }
    let from = ctx.from.clone();
    let checked = super::checks::verify(ctx, &from)?;
    Ok(Done::detail(format!(
        "{} running again; {}",
        from, checked.detail
    )))
}
