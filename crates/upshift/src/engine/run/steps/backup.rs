//! The backup steps: keys (outside the window, only when they changed) and
//! the database (inside the window, with the service stopped); restoring
//! the database (undo of the backup, and a rollback run's own step).

use super::def::{Step, Undo, Words};
use crate::engine::backup::{self, KeysOutcome};
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::engine::step_outputs::{DbBackedUp, Exported, KeysBackedUp};
use crate::support::error::{Error, Result};

pub const BACKUP_KEYS: Step = Step {
    kind: StepKind::BackupKeys,
    in_window: false,
    words: Words::Same("back up the keys into an encrypted bundle (when they changed)"),
    apply: keys,
    undo: Undo::Kept,
};

pub const BACKUP_DB: Step = Step {
    kind: StepKind::BackupDb,
    in_window: true,
    words: Words::ByKind {
        upgrade: "back up the database and verify the backup",
        rollback: "back up the database as it is now (its newer data) and verify the backup",
    },
    apply: database,
    undo: Undo::Run(restore_own),
};

pub const RESTORE_DB: Step = Step {
    kind: StepKind::RestoreDb,
    in_window: true,
    words: Words::Same("restore the database from the upgrade's backup"),
    apply: restore,
    undo: Undo::With(StepKind::BackupDb),
};

pub const EXPORT_BACKUP: Step = Step {
    kind: StepKind::ExportBackup,
    in_window: false,
    words: Words::Same("export the in-server snapshot as a portable, verified dump"),
    apply: export,
    undo: Undo::Kept,
};

fn keys(ctx: &mut Ctx) -> Result<Done> {
    Ok(
        match backup::keys(ctx.inst, ctx.state, Some(ctx.run_id), &ctx.from, false)? {
            KeysOutcome::Written(b) => Done::detail(format!(
                "bundle #{} written and verified ({})",
                b.id,
                b.path.display()
            ))
            .with_output(KeysBackedUp { backup_id: b.id }),
            KeysOutcome::Unchanged(b) => {
                Done::skipped(format!("keys unchanged since bundle #{}", b.id))
                    .with_output(KeysBackedUp { backup_id: b.id })
            }
        },
    )
}

fn database(ctx: &mut Ctx) -> Result<Done> {
    let progress = |done: u64, total: u64| ctx.progress(StepKind::BackupDb, done, Some(total));
    let record = backup::database(ctx.inst, ctx.state, Some(ctx.run_id), &ctx.from, &progress)?;
    Ok(Done::detail(format!(
        "backup #{} ({} bytes, sha256 {}…) verified",
        record.id,
        record.size,
        &record.sha256[..12]
    ))
    .with_output(DbBackedUp {
        backup_id: record.id,
        path: record.path,
    }))
}

/// Undo of `backup-db`: put the data back as this run's backup holds it.
/// A backup cut off by a crash leaves only a partial copy, removed here; the
/// database itself was not touched yet (nothing after the backup ran).
fn restore_own(ctx: &mut Ctx) -> Result<Done> {
    let swept = backup::sweep_partial(ctx.inst)?;
    if !ctx.outputs.contains_key(&StepKind::BackupDb) {
        return Ok(Done::skipped(format!(
            "the backup never finished, so the database was not touched; {swept} partial copy file(s) removed"
        )));
    }
    let id = ctx.output::<DbBackedUp>()?.backup_id;
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

/// A rollback run's `restore-db`: restore the backup of the upgrade it undoes.
fn restore(ctx: &mut Ctx) -> Result<Done> {
    let id = ctx
        .plan
        .restore_backup
        .ok_or_else(|| Error::failed("the plan names no backup to restore"))?;
    restore_backup(ctx, id)
}

/// After the window: turn an in-server snapshot into a portable, verified
/// dump in the catalog, so an off-machine copy exists too.
fn export(ctx: &mut Ctx) -> Result<Done> {
    let id = ctx.output::<DbBackedUp>()?.backup_id;
    // The window has closed and the new version works: a failed export must
    // not roll that back. The snapshot stays in the catalog as the backup.
    Ok(match backup::export(ctx.inst, ctx.state, Some(ctx.run_id), &ctx.from, id) {
        Ok(Some(record)) => Done::detail(format!(
            "backup #{} exported from the snapshot ({})",
            record.id,
            record.path.display()
        ))
        .with_output(Exported {
            backup_id: record.id,
        }),
        Ok(None) => Done::skipped("the backup is portable already"),
        Err(e) => Done::detail(format!(
            "WARNING: export failed ({}); snapshot backup #{id} is still in the catalog and restorable",
            e.chain()
        )),
    })
}
