//! Migrate: run the new version's schema upgrade command, once.

use crate::cmd;
use crate::config::MigrationConfig;
use crate::error::Result;
use crate::run::{Ctx, Done};

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    match &ctx.inst.loaded.file.migration {
        MigrationConfig::Command { run, timeout } => {
            let argv = ctx.vars.render_all(run);
            cmd::run_ok(&argv, &ctx.inst.loaded.dir, *timeout, "migration")?;
            Ok(Done::detail(format!("`{}` succeeded", argv[0])))
        }
        MigrationConfig::OnStart => Ok(Done::skipped("the server migrates itself on start")),
    }
}
