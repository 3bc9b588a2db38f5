//! Checks: the new version must prove it works before maintenance ends.

use crate::checks::{self, CheckContext};
use crate::error::{Error, Result};
use crate::run::{Ctx, Done};
use crate::version::Version;

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    let to = ctx.to.clone();
    verify(ctx, &to)
}

/// Runs every check, expecting `version` to be running.
pub fn verify(ctx: &mut Ctx, version: &Version) -> Result<Done> {
    let inst = ctx.inst;
    let check_ctx = CheckContext {
        client: &inst.client,
        instance_dir: &inst.loaded.dir,
        vars: &ctx.vars,
        db: inst.db.as_ref(),
        expect_version: Some(version),
    };
    let outcomes = checks::run_all(&inst.loaded.file.checks, &check_ctx);
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.ok)
        .map(|o| format!("{}: {}", o.name, o.detail))
        .collect();
    if failed.is_empty() {
        Ok(Done::detail(format!("{} check(s) pass", outcomes.len())))
    } else {
        Err(Error::failed(format!(
            "check(s) failed: {}",
            failed.join("; ")
        )))
    }
}
