//! The backup steps: keys (outside the window, only when they changed) and
//! the database (inside the window, with the service stopped); restoring
//! the database (undo of the backup, and a rollback run's own step).

use crate::engine::backup::{self, KeysOutcome};
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};
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

/// Undo of `backup-db`: put the data back as this run's backup holds it.
/// A backup cut off by a crash leaves only a partial copy, removed here; the
/// database itself was not touched yet (nothing after the backup ran).
pub fn restore_own(ctx: &mut Ctx) -> Result<Done> {
    let swept = backup::sweep_partial(ctx.inst)?;
    if !ctx.outputs.contains_key(&StepKind::BackupDb) {
        return Ok(Done::skipped(format!(
            "the backup never finished, so the database was not touched; {swept} partial copy file(s) removed"
        )));
    }
    let id = own_backup(ctx)?;
    restore_backup(ctx, id)
}

/// Restores backup `id` once every node is stopped: on a cluster a node
/// may have been started behind upshift's back (a watchdog) since `stop`,
/// and no node may have the database open while it is replaced.
fn restore_backup(ctx: &mut Ctx, id: i64) -> Result<Done> {
    if ctx.inst.is_cluster() {
        super::service::stop(ctx)?;
    }
    Ok(Done::detail(backup::restore(ctx.inst, ctx.state, id)?))
}

/// The catalog id of this run's database backup, from the journal.
fn own_backup(ctx: &Ctx) -> Result<i64> {
    ctx.outputs
        .get(&StepKind::BackupDb)
        .and_then(|o| o.get("backup_id"))
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| {
            Error::failed("the journal holds no backup id for this run's database backup")
        })
}

/// A rollback run's `restore-db`: restore the backup of the upgrade it undoes.
pub fn restore(ctx: &mut Ctx) -> Result<Done> {
    let id = ctx
        .plan
        .restore_backup
        .ok_or_else(|| Error::failed("the plan names no backup to restore"))?;
    restore_backup(ctx, id)
}

/// After the window: turn an in-server snapshot into a portable, verified
/// dump in the catalog, so an off-machine copy exists too.
pub fn export(ctx: &mut Ctx) -> Result<Done> {
    let id = own_backup(ctx)?;
    // The window has closed and the new version works: a failed export must
    // not roll that back. The snapshot stays in the catalog as the backup.
    Ok(match backup::export(ctx.inst, ctx.state, Some(ctx.run_id), &ctx.from, id) {
        Ok(Some(record)) => Done::detail(format!(
            "backup #{} exported from the snapshot ({})",
            record.id,
            record.path.display()
        ))
        .with_output(json!({ "backup_id": record.id })),
        Ok(None) => Done::skipped("the backup is portable already"),
        Err(e) => Done::detail(format!(
            "WARNING: export failed ({}); snapshot backup #{id} is still in the catalog and restorable",
            e.chain()
        )),
    })
}
