//! Rolling back an unfinished run that got as far as starting the new
//! version: a crash may have left that version serving (no maintenance
//! mode, or one that lets users in), and restoring the run's backup drops
//! whatever users wrote to it since. So, as for a succeeded upgrade, the
//! operator must say `--discard-newer-data`, unless there is proof that
//! nothing was written: the live database's content checksum equals the
//! backup's (where the engine can read the backup as a database).
//!
//! The rollback a run does by itself right after a failure needs neither:
//! maintenance was on and upshift never left. Nor does a rollback whose
//! restore is already done (a crash mid-rollback), nor one of a run that
//! never started the new version.

use crate::engine::instance::Instance;
use crate::engine::state::{RunRecord, State, StepStatus};
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};
use crate::support::events::Reporter;

/// Refuses (bad input, nothing changed) to roll `run` back over data the
/// new version may have written, unless `discard` or the data is unchanged.
pub(super) fn guard(
    inst: &Instance,
    state: &State,
    run: &RunRecord,
    discard: bool,
    reporter: &dyn Reporter,
) -> Result<()> {
    let steps = state.steps(&run.id)?;
    let row = |name: &str| steps.iter().find(|s| s.name == name);
    let Some(start) = row(StepKind::Start.name()) else {
        return Ok(());
    };
    let restored = row(&StepKind::BackupDb.undo_name())
        .is_some_and(|s| matches!(s.status, StepStatus::Done | StepStatus::Skipped));
    let backup_id = row(StepKind::BackupDb.name())
        .and_then(|s| s.output.get("backup_id"))
        .and_then(serde_json::Value::as_i64);
    let (false, Some(id)) = (restored, backup_id) else {
        return Ok(());
    };
    if discard {
        reporter.note(format!(
            "--discard-newer-data: whatever {} wrote since {} is dropped with the restore of backup #{id}",
            run.to, start.started_at
        ));
        return Ok(());
    }
    if unchanged_since(inst, state, id) {
        reporter.note(format!(
            "the database holds exactly what backup #{id} holds: no data written since is lost"
        ));
        return Ok(());
    }
    Err(Error::input(format!(
        "run {} started {} at {} and did not finish: rolling it back restores backup #{id}, taken before the upgrade, and whatever was written since is lost",
        run.id, run.to, start.started_at
    ))
    .hint("pass --discard-newer-data to roll back anyway, or `upshift resume` to carry the upgrade on and keep the data"))
}

/// Whether the live content equals backup `id`'s, where both can be read.
fn unchanged_since(inst: &Instance, state: &State, id: i64) -> bool {
    let Ok(Some(record)) = state.backup(id) else {
        return false;
    };
    match inst.db.backup_checksum(&record.path) {
        Ok(Some(expected)) => inst.db.content_checksum().ok() == Some(expected),
        _ => false,
    }
}
