//! Switch: point `current` at the new version, atomically; and back.

use crate::error::Result;
use crate::run::{Ctx, Done};

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    let install = &ctx.inst.install;
    if install.current()?.as_ref() == Some(&ctx.to) {
        return Ok(Done::skipped(format!(
            "current already points at {}",
            ctx.to
        )));
    }
    install.switch(&ctx.to)?;
    Ok(Done::detail(format!("current -> versions/{}", ctx.to)))
}

/// Undo of `switch`: point `current` at the old version again.
pub fn back(ctx: &mut Ctx) -> Result<Done> {
    let install = &ctx.inst.install;
    if install.current()?.as_ref() == Some(&ctx.from) {
        return Ok(Done::skipped(format!(
            "current already points at {}",
            ctx.from
        )));
    }
    install.switch(&ctx.from)?;
    Ok(Done::detail(format!("current -> versions/{}", ctx.from)))
}
