//! Stopping the old version and starting the new one.

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
