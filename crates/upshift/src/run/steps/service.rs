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
    let was_running = service.is_running()?;
    // Also when running (a resumed run): start only waits for ready then,
    // and runs the service's after_start hooks, which may not have run.
    service.start(&ctx.vars)?;
    if was_running {
        return Ok(Done::skipped("service already running"));
    }
    Ok(Done::detail(format!(
        "started {} on {}",
        service.describe(),
        ctx.to
    )))
}

/// Undo of `stop`: start the version `current` points at again (the old one,
/// once `switch` is undone) and prove it works.
pub fn restart_old(ctx: &mut Ctx) -> Result<Done> {
    // Templated for the old version: `{version}` and `{dir}` must not name
    // the version being rolled back. A running service is only waited for
    // (and its after_start hooks run).
    ctx.inst.service.start(&ctx.inst.vars(None, &ctx.from))?;
    let from = ctx.from.clone();
    let checked = super::checks::verify(ctx, &from)?;
    Ok(Done::detail(format!(
        "{} running again; {}",
        from, checked.detail
    )))
}
