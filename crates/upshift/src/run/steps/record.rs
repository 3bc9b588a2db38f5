//! Record: enter the upgrade in the install history (the commit point).

use crate::error::Result;
use crate::run::{Ctx, Done};

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    if ctx.state.history()?.iter().any(|h| h.run_id == ctx.run_id) {
        return Ok(Done::skipped("already in the history"));
    }
    ctx.state
        .record_install(ctx.run_id, &ctx.from.to_string(), &ctx.to.to_string())?;
    Ok(Done::detail(format!("history: {} -> {}", ctx.from, ctx.to)))
}
