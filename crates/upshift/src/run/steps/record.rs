//! Record: enter the upgrade in the install history (the commit point).

use crate::error::Result;
use crate::run::{Ctx, Done};

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    ctx.state
        .record_install(ctx.run_id, &ctx.from.to_string(), &ctx.to.to_string())?;
    Ok(Done::detail(format!("history: {} -> {}", ctx.from, ctx.to)))
}
