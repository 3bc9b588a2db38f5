//! Preflight: prove the upgrade can go ahead before anything changes.
//!
//! Database reachable, service running on the version the plan starts from,
//! room for the backup and the new release, and the server healthy now (its
//! HTTP checks pass): upshift never starts by upgrading a broken server,
//! because afterwards nobody could tell which version broke it.
//! Every failure here is bad input: exit 2, nothing changed. A rollback run
//! skips the service and health conditions: the version it leaves may be
//! down or broken, which is why it is being rolled back.

use crate::backup;
use crate::checks::{self, CheckContext};
use crate::config::CheckConfig;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::plan::RunKind;
use crate::run::{Ctx, Done};

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    run(ctx).map_err(Error::into_input)
}

fn run(ctx: &mut Ctx) -> Result<Done> {
    let inst = ctx.inst;
    inst.db.ping()?;
    let notes = inst.db.preflight()?;
    let current = inst.current_version()?;
    if current != ctx.from {
        return Err(Error::input(format!(
            "the installed version changed since the plan: {current}, planned from {}",
            ctx.from
        ))
        .hint("run `upshift plan` again"));
    }
    // A rollback run goes back from a version that may be the problem: it
    // neither needs it running nor healthy.
    let rollback = ctx.plan.kind == RunKind::Rollback;
    if !rollback && !inst.service.is_running()? {
        return Err(Error::input(format!("the service is not running ({})", inst.service.describe()))
            .hint("upshift upgrades a running, healthy server: start it and check it with `upshift check`"));
    }
    backup::check_space(inst)?;
    if let Some(size) = ctx.plan.release.as_ref().and_then(|r| r.size) {
        let free = fsutil::free_space(inst.install.root())?;
        if free < size.saturating_mul(4) {
            return Err(Error::input(format!(
                "not enough disk space in {} to unpack the release ({} bytes free, about {} needed)",
                inst.install.root().display(),
                free,
                size * 4
            )));
        }
    }
    let health: Vec<CheckConfig> = inst
        .loaded
        .file
        .checks
        .iter()
        .filter(|c| !rollback && matches!(c, CheckConfig::Http { .. }))
        .cloned()
        .collect();
    let check_ctx = CheckContext {
        client: &inst.client,
        instance_dir: &inst.loaded.dir,
        vars: &ctx.vars,
        db: inst.db.as_ref(),
        expect_version: Some(&ctx.from),
    };
    let failed: Vec<String> = checks::run_all(&health, &check_ctx)
        .into_iter()
        .filter(|o| !o.ok)
        .map(|o| format!("{}: {}", o.name, o.detail))
        .collect();
    if !failed.is_empty() {
        return Err(Error::input(format!(
            "the server is not healthy before the upgrade: {}",
            failed.join("; ")
        ))
        .hint("fix it first; `upshift check` runs the checks"));
    }
    let mut detail = format!(
        "{current} running, database reachable, {} health check(s) pass, disk space ok",
        health.len()
    );
    for note in notes {
        detail.push_str("; ");
        detail.push_str(&note);
    }
    Ok(Done::detail(detail))
}
