//! Switch: point `current` at the new version, atomically.

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
