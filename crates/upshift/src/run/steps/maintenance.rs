//! Maintenance mode on and off, and the drain in between.

use crate::drain;
use crate::error::{Error, Result};
use crate::run::{Ctx, Done};

pub fn set(ctx: &mut Ctx, on: bool) -> Result<Done> {
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

pub fn drain(ctx: &mut Ctx) -> Result<Done> {
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
