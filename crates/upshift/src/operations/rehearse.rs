//! A rehearsal: the upgrade production would get, carried out on a clone
//! first, timed, and turned into a prediction of production's window.
//!
//! Design decisions:
//! - The plan is made on production ([`plan::make`]) and executed, unchanged,
//!   on the clone's [`Instance`] with the clone's own state folder: the same
//!   steps, the same release, the clone's journal. A failure inside the
//!   window is rolled back in the clone, as production's would be.
//! - Production is only read: its lock is held for the whole rehearsal so no
//!   upgrade runs meanwhile, and the clone's folder, database and service
//!   are the clone's alone (see [`crate::operations::clone`]).
//! - A database no clone can be made of is refused before the plan is made
//!   (exit 2): the driver says so ([`crate::drivers::db::Cloneable`]).
//! - The prediction scales the steps whose time depends on the data
//!   (`backup-db`, `migrate`, `restore-db`, `export-backup`) by production's
//!   database size over the clone's (about 1 right after a clone); every other
//!   step is predicted as rehearsed. The predicted window is the rehearsed
//!   window plus what scaling adds, so the engine's own overhead between
//!   steps is counted too.
//! - The report is written as markdown (for people) and JSON (for tools)
//!   into `<state_dir>/rehearsals/<id>.{md,json}`; the figures of the latest
//!   one are kept in the state database for `plan` to show.

use crate::drivers::db::cloneable;
use crate::engine::instance::Instance;
use crate::engine::plan::{self, Request};
use crate::engine::run::{self, OnFailure, Outcome, Report};
use crate::engine::state::RehearsalFigures;
use crate::engine::step::StepKind;
use crate::operations::clone::{self, CloneRequest, Cloned};
use crate::support::error::{Context, Error, Result};
use crate::support::events::Reporter;
use crate::support::fsutil;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::PathBuf;

/// What `upshift rehearse` asked for.
#[derive(Debug, Clone, Default)]
pub struct RehearseRequest {
    /// The upgrade to rehearse (as for `plan` and `upgrade`).
    pub plan: Request,
    /// Keep the clone afterwards (running, on the new or the old version).
    pub keep: bool,
    /// Clone from new backups instead of the latest verified ones.
    pub fresh_backup: bool,
}

/// One rehearsed step and its prediction for production.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RehearsedStep {
    pub step: String,
    /// How long it took on the clone.
    pub ms: u64,
    /// How long it should take on production.
    pub predicted_ms: u64,
    pub in_window: bool,
    /// Scaled by the database size ratio.
    pub scaled: bool,
    pub skipped: bool,
    pub failed: bool,
    pub detail: String,
}

/// What a rehearsal found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rehearsal {
    pub id: String,
    pub instance: String,
    pub from: String,
    pub to: String,
    /// How the upgrade ended on the clone.
    pub outcome: Outcome,
    pub clone: Cloned,
    /// The clone's run id (in the clone's own journal).
    pub clone_run_id: Option<String>,
    /// Whether the clone was kept (`--keep`) or torn down.
    pub kept: bool,
    pub production_db_bytes: u64,
    pub clone_db_bytes: u64,
    /// Production's database size over the clone's.
    pub db_scale: f64,
    pub steps: Vec<RehearsedStep>,
    /// The clone's maintenance window.
    pub window_ms: Option<u64>,
    /// The window predicted for production.
    pub predicted_window_ms: Option<u64>,
    pub failed_step: Option<StepKind>,
    pub error: Option<String>,
    pub hint: Option<String>,
    /// Tearing the clone down failed (the clone is left where it is).
    pub teardown_error: Option<String>,
    pub report_md: PathBuf,
    pub report_json: PathBuf,
}

impl Rehearsal {
    /// 0 when the rehearsed upgrade succeeded and the clone is gone (or kept
    /// on purpose); 2 when it was refused before it began; 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match (self.outcome, &self.teardown_error) {
            (Outcome::Upgraded, None) => 0,
            (Outcome::Refused, _) => 2,
            _ => 1,
        }
    }
}

/// Clones production, upgrades the clone with production's plan, predicts,
/// tears the clone down (unless `keep`) and writes the report.
pub fn rehearse(
    prod: &Instance,
    request: &RehearseRequest,
    reporter: &dyn Reporter,
) -> Result<Rehearsal> {
    let _lock = prod.lock("rehearse")?;
    cloneable(prod.db.as_ref())?;
    let state = prod.state()?;
    let plan = plan::make(prod, &state, &request.plan, reporter)?;
    if plan.is_noop() {
        return Err(Error::input(format!(
            "nothing to rehearse: {} is already on {}",
            plan.instance, plan.from
        ))
        .hint("pass --to with a newer release"));
    }
    let id = stamp();
    let clone_request = CloneRequest {
        name: format!("rehearsal-{}", id.to_ascii_lowercase()),
        dir: None,
        fresh_backup: request.fresh_backup,
    };
    let cloned = clone::create(prod, &state, &clone_request, reporter)?;
    let upgraded = upgrade_clone(&cloned, &plan, reporter);
    let teardown_error = match request.keep {
        true => None,
        false => clone::teardown(&cloned.dir).err().map(|e| e.chain()),
    };
    let (report, clone_db_bytes) = upgraded?;
    let production_db_bytes = prod.db.size()?;
    let dir = prod.state_dir.join("rehearsals");
    let mut rehearsal = predict(
        &report,
        production_db_bytes,
        clone_db_bytes,
        Rehearsal {
            report_md: dir.join(format!("{id}.md")),
            report_json: dir.join(format!("{id}.json")),
            id,
            instance: plan.instance.clone(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            outcome: report.outcome,
            clone: cloned,
            clone_run_id: report.run_id.clone(),
            kept: request.keep,
            production_db_bytes,
            clone_db_bytes,
            db_scale: 1.0,
            steps: Vec::new(),
            window_ms: report.window_ms,
            predicted_window_ms: None,
            failed_step: report.failed_step,
            error: report.error.clone(),
            hint: report.hint.clone(),
            teardown_error,
        },
    );
    write_reports(&mut rehearsal)?;
    state.record_rehearsal(&figures(&rehearsal))?;
    Ok(rehearsal)
}

/// Runs the plan on the clone; returns the run's report and the clone's
/// database size before the upgrade.
fn upgrade_clone(
    cloned: &Cloned,
    plan: &plan::Plan,
    reporter: &dyn Reporter,
) -> Result<(Report, u64)> {
    let clone = Instance::open(&cloned.instance_file, None)?;
    let _lock = clone.lock("rehearse")?;
    let state = clone.state()?;
    let bytes = clone.db.size()?;
    let report = run::execute(&clone, &state, plan, OnFailure::Rollback, reporter)?;
    Ok((report, bytes))
}

/// Whether a step's time grows with the database.
fn data_bound(step: StepKind) -> bool {
    matches!(
        step,
        StepKind::BackupDb | StepKind::Migrate | StepKind::RestoreDb | StepKind::ExportBackup
    )
}

/// Fills the per-step predictions and the predicted window.
fn predict(report: &Report, prod_bytes: u64, clone_bytes: u64, mut r: Rehearsal) -> Rehearsal {
    r.db_scale = match clone_bytes {
        0 => 1.0,
        c => prod_bytes as f64 / c as f64,
    };
    let mut added_in_window: i64 = 0;
    for s in &report.steps {
        let scaled = StepKind::from_name(&s.step).is_some_and(data_bound) && !s.skipped;
        let predicted_ms = match scaled {
            true => (s.ms as f64 * r.db_scale).round() as u64,
            false => s.ms,
        };
        if s.in_window {
            added_in_window += predicted_ms as i64 - s.ms as i64;
        }
        r.steps.push(RehearsedStep {
            step: s.step.clone(),
            ms: s.ms,
            predicted_ms,
            in_window: s.in_window,
            scaled,
            skipped: s.skipped,
            failed: s.failed,
            detail: s.detail.clone(),
        });
    }
    r.predicted_window_ms = r
        .window_ms
        .map(|w| (w as i64 + added_in_window).max(0) as u64);
    r
}

/// What `plan` shows from this rehearsal: the forward steps' predictions.
fn figures(r: &Rehearsal) -> RehearsalFigures {
    RehearsalFigures {
        id: r.id.clone(),
        at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        from: r.from.clone(),
        to: r.to.clone(),
        outcome: r.outcome.summary_name().to_string(),
        steps: r
            .steps
            .iter()
            .filter(|s| StepKind::from_name(&s.step).is_some() && !s.failed)
            .map(|s| (s.step.clone(), s.predicted_ms))
            .collect(),
        window_ms: r
            .predicted_window_ms
            .filter(|_| r.outcome == Outcome::Upgraded),
    }
}

/// Writes `<id>.md` and `<id>.json`.
fn write_reports(r: &mut Rehearsal) -> Result<()> {
    let dir = fsutil::parent(&r.report_md).to_path_buf();
    fsutil::create_dirs(&dir)?;
    let json = serde_json::to_vec_pretty(&*r).context(|| "cannot encode the rehearsal".into())?;
    fsutil::atomic_write(&r.report_json, &json, 0o600)?;
    fsutil::atomic_write(&r.report_md, markdown(r).as_bytes(), 0o600)
}

/// The report for people.
pub fn markdown(r: &Rehearsal) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Rehearsal {}: {} {} -> {}\n",
        r.id, r.instance, r.from, r.to
    );
    let verdict = match r.outcome {
        Outcome::Upgraded => "**upgraded**: the clone runs the new version and passed its checks.",
        Outcome::RolledBack => "**FAILED and rolled back** in the clone: it runs the old version again on its restored data.",
        Outcome::NeedsOperator => "**FAILED and stopped** in the clone: its rollback did not finish.",
        Outcome::Refused | Outcome::Failed => "**FAILED before the maintenance window**: the clone was not changed.",
        Outcome::Reverted | Outcome::NothingToDo => "nothing was upgraded.",
    };
    let _ = writeln!(md, "Outcome: {verdict}  ");
    let _ = writeln!(
        md,
        "Production was not touched: the upgrade ran on a clone.\n"
    );
    let _ = writeln!(
        md,
        "- Clone: `{}` ({}), restored from database backup #{} into {}, made in {}",
        r.clone.dir.display(),
        match (r.kept, &r.teardown_error) {
            (true, _) => "kept; work on it with `-c` its upshift.toml",
            (false, None) => "torn down",
            (false, Some(_)) => "teardown FAILED, still there",
        },
        r.clone.db_backup,
        r.clone.database,
        ms(r.clone.ms)
    );
    let _ = writeln!(
        md,
        "- Database: production {} bytes, clone {} bytes: data-bound steps scaled by {:.2}\n",
        r.production_db_bytes, r.clone_db_bytes, r.db_scale
    );
    let _ = writeln!(
        md,
        "| step | window | rehearsal | predicted for production | |"
    );
    let _ = writeln!(md, "| --- | --- | ---: | ---: | --- |");
    for s in &r.steps {
        let note = match (s.failed, s.skipped, s.scaled) {
            (true, _, _) => format!("FAILED: {}", s.detail),
            (_, true, _) => "skipped".to_string(),
            (_, _, true) => "scaled by database size".to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            s.step,
            if s.in_window { "yes" } else { "" },
            ms(s.ms),
            ms(s.predicted_ms),
            note.replace('|', "\\|").replace('\n', " ")
        );
    }
    let _ = writeln!(
        md,
        "\nPredicted maintenance window for production: **{}** (the clone's: {}).",
        r.predicted_window_ms.map_or("unknown".into(), ms),
        r.window_ms.map_or("none".into(), ms)
    );
    if r.error.is_some() || r.teardown_error.is_some() {
        let _ = writeln!(md, "\n## What went wrong\n");
        if let Some(step) = r.failed_step {
            let _ = writeln!(md, "- Step `{step}` failed.");
        }
        if let Some(e) = &r.error {
            let _ = writeln!(md, "- {e}");
        }
        if let Some(h) = &r.hint {
            let _ = writeln!(md, "- Hint: {h}");
        }
        let undone: Vec<&str> = r
            .steps
            .iter()
            .filter(|s| s.step.starts_with("undo-"))
            .map(|s| s.step.as_str())
            .collect();
        if !undone.is_empty() {
            let _ = writeln!(md, "- Rolled back in the clone: {}.", undone.join(", "));
        }
        if let Some(e) = &r.teardown_error {
            let _ = writeln!(md, "- Tearing the clone down failed: {e}");
        }
    }
    md
}

fn ms(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The rehearsal's id: UTC time to the millisecond, sortable.
fn stamp() -> String {
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    now.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .trim_end_matches('Z')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run::StepReport;

    fn step(name: &str, ms: u64, in_window: bool) -> StepReport {
        StepReport {
            step: name.into(),
            ms,
            in_window,
            skipped: false,
            failed: false,
            detail: String::new(),
            nodes: Vec::new(),
            earlier: false,
        }
    }

    #[test]
    fn data_bound_steps_scale_and_the_window_grows_by_the_difference() {
        let mut report = Report::nothing_to_do(
            &serde_json::from_value(serde_json::json!({
                "kind": "upgrade", "instance": "i", "from": "1.0.0", "to": "1.1.0",
                "change": "minor", "restore_backup": null, "rolls_back": null,
                "steps": [], "window_estimate_ms": null
            }))
            .unwrap(),
        );
        report.window_ms = Some(1000);
        report.steps = vec![
            step("stage", 500, false),
            step("stop", 100, true),
            step("backup-db", 200, true),
            step("migrate", 300, true),
        ];
        let r = predict(&report, 3000, 1000, empty());
        assert_eq!(r.db_scale, 3.0);
        let predicted: Vec<u64> = r.steps.iter().map(|s| s.predicted_ms).collect();
        assert_eq!(predicted, [500, 100, 600, 900]);
        assert_eq!(r.predicted_window_ms, Some(1000 + 400 + 600));
        assert!(
            markdown(&r).contains("| migrate | yes | 0.3 s | 0.9 s | scaled by database size |")
        );
    }

    fn empty() -> Rehearsal {
        Rehearsal {
            id: "x".into(),
            instance: "i".into(),
            from: "1.0.0".into(),
            to: "1.1.0".into(),
            outcome: Outcome::Upgraded,
            clone: Cloned {
                name: "c".into(),
                dir: PathBuf::from("/c"),
                instance_file: PathBuf::from("/c/upshift.toml"),
                port: 1,
                version: "1.0.0".into(),
                db_backup: 1,
                keys_backup: None,
                database: "SQLite".into(),
                ms: 10,
            },
            clone_run_id: None,
            kept: false,
            production_db_bytes: 0,
            clone_db_bytes: 0,
            db_scale: 1.0,
            steps: Vec::new(),
            window_ms: Some(1000),
            predicted_window_ms: None,
            failed_step: None,
            error: None,
            hint: None,
            teardown_error: None,
            report_md: PathBuf::new(),
            report_json: PathBuf::new(),
        }
    }
}
