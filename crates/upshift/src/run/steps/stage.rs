//! Stage: put the new release beside the old one, outside the window.
//!
//! Archive installs download (resumable, cached), verify the SHA-256 and the
//! signature, and unpack into `versions/<v>`; command installs run the
//! install command, after the same download and verification when it names
//! `{artifact}`. Already staged: nothing to do.

use crate::error::{Error, Result};
use crate::run::{Ctx, Done};
use crate::step::StepKind;
use serde_json::json;

pub fn apply(ctx: &mut Ctx) -> Result<Done> {
    let inst = ctx.inst;
    let dir = inst.install.version_dir(&ctx.to);
    if inst.install.is_staged(&ctx.to) {
        return Ok(
            Done::skipped(format!("{} already staged in {}", ctx.to, dir.display()))
                .with_output(json!({ "dir": dir })),
        );
    }
    let artifact = if inst.install.needs_artifact() {
        let release =
            ctx.plan.release.as_ref().ok_or_else(|| {
                Error::failed(format!("release {} is not known to the plan", ctx.to))
            })?;
        let progress = |done: u64, total: Option<u64>| ctx.progress(StepKind::Stage, done, total);
        Some(inst.source.fetch(release, &progress)?)
    } else {
        None
    };
    let mut vars = ctx.vars.clone();
    if let Some(path) = &artifact {
        vars.set("artifact", path.to_string_lossy());
    }
    inst.install.stage(&ctx.to, artifact.as_deref(), &vars)?;
    Ok(Done::detail(format!(
        "{} verified and staged in {}",
        ctx.to,
        dir.display()
    ))
    .with_output(json!({ "dir": dir })))
}
