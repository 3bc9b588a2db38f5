//! The two backup steps: keys (outside the window, only when they changed)
//! and the database (inside the window, with the service stopped).

use crate::backup::{self, KeysOutcome};
use crate::error::Result;
use crate::run::{Ctx, Done};
use crate::step::StepKind;
use serde_json::json;

pub fn keys(ctx: &mut Ctx) -> Result<Done> {
    Ok(
        match backup::keys(ctx.inst, ctx.state, Some(ctx.run_id), &ctx.from, false)? {
            KeysOutcome::Written(b) => Done::detail(format!(
                "bundle #{} written and verified ({})",
                b.id,
                b.path.display()
            ))
            .with_output(json!({ "backup_id": b.id })),
            KeysOutcome::Unchanged(b) => {
                Done::skipped(format!("keys unchanged since bundle #{}", b.id))
                    .with_output(json!({ "backup_id": b.id }))
            }
        },
    )
}

pub fn database(ctx: &mut Ctx) -> Result<Done> {
    let progress = |done: u64, total: u64| ctx.progress(StepKind::BackupDb, done, Some(total));
    let record = backup::database(ctx.inst, ctx.state, Some(ctx.run_id), &ctx.from, &progress)?;
    Ok(Done::detail(format!(
        "backup #{} ({} bytes, sha256 {}…) verified",
        record.id,
        record.size,
        &record.sha256[..12]
    ))
    .with_output(json!({ "backup_id": record.id, "path": record.path })))
}
