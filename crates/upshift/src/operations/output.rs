//! The `--json` contract: every line any command prints with `--json` is
//! one serialized [`Output`], tagged by its `"type"` field. docs/json.md is
//! its reference; a test parses every command's output back into it.
//!
//! Design decisions:
//! - One enum, internally tagged, so a script reads `type` and knows the
//!   shape of the rest. The run's progress events keep their own tags
//!   (`run_started`, `step_finished`, ...) and gain an `at` stamp; they are
//!   the enum's one untagged variant, tried after every named type.
//! - A run's result and an error that ended a command before or outside a
//!   run are the same [`Summary`], so a script reads one shape for "how did
//!   it end": `outcome`, `exit_code`, `error`, `hint`.
//! - The values are the library's own types (the plan, the status, catalog
//!   records), so what a front end shows cannot drift from what the engine
//!   decided.

use crate::drivers::checks::CheckOutcome;
use crate::engine::plan::Plan;
use crate::engine::run::{Outcome, Report, StepReport};
use crate::engine::state::actions::ActionRecord;
use crate::engine::state::{BackupRecord, HistoryRecord, RunRecord};
use crate::engine::status::Status;
use crate::engine::step::StepKind;
use crate::operations::clone::Cloned;
use crate::operations::rehearse::Rehearsal;
use crate::operations::service::ServiceReport;
use crate::support::error::{Error, ErrorKind};
use crate::support::events::Event;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One line of `--json` output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// `plan`, and before a run's first step.
    Plan(Plan),
    /// How a command ended: a run's result, or the error that stopped it.
    Summary(Summary),
    /// `status`.
    Status(Status),
    /// `history`.
    History(History),
    /// `backups list`.
    Backups(Backups),
    /// `backups prune`: what was deleted.
    Pruned(Backups),
    /// `backups verify`: one line per backup.
    Verified(Verified),
    /// `backup keys|db`: the backup just written and verified.
    Backup(BackupRecord),
    /// `check`.
    Checks(Checks),
    /// `clone`.
    Clone(Cloned),
    /// `rehearse`.
    Rehearsal(RehearsalSummary),
    /// `service start|stop|status`.
    Service(ServiceReport),
    /// `maintenance on|off|status`.
    Maintenance(Maintenance),
    /// `init`.
    Init(Initialized),
    /// A run's progress (`run_started`, `step_started`, ...).
    #[serde(untagged)]
    Event(Stamped),
}

/// How a command ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// `upgraded`, `nothing_to_do`, `rolled_back` or `failed`.
    pub outcome: String,
    /// The finer outcome (`refused`, `needs_operator`, ...).
    pub state: Outcome,
    pub exit_code: i32,
    pub instance: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub run_id: Option<String>,
    pub window_ms: Option<u64>,
    pub failed_step: Option<StepKind>,
    #[serde(default)]
    pub steps: Vec<StepReport>,
    pub error: Option<String>,
    pub hint: Option<String>,
}

impl Summary {
    /// A run's result.
    pub fn of_report(report: &Report) -> Summary {
        Summary {
            outcome: report.outcome.summary_name().to_string(),
            state: report.outcome,
            exit_code: report.outcome.exit_code(),
            instance: Some(report.instance.clone()),
            from: Some(report.from.clone()),
            to: Some(report.to.clone()),
            run_id: report.run_id.clone(),
            window_ms: report.window_ms,
            failed_step: report.failed_step,
            steps: report.steps.clone(),
            error: report.error.clone(),
            hint: report.hint.clone(),
        }
    }

    /// An error that ended a command outside a run's own accounting.
    pub fn of_error(error: &Error) -> Summary {
        let state = match error.kind() {
            ErrorKind::Input | ErrorKind::Busy => Outcome::Refused,
            ErrorKind::Failed | ErrorKind::Unreachable => Outcome::Failed,
        };
        Summary {
            outcome: state.summary_name().to_string(),
            state,
            exit_code: error.kind().exit_code(),
            instance: None,
            from: None,
            to: None,
            run_id: None,
            window_ms: None,
            failed_step: None,
            steps: Vec::new(),
            error: Some(error.chain()),
            hint: error.hint_text().map(str::to_string),
        }
    }
}

/// A progress event with the moment it was printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stamped {
    #[serde(flatten)]
    pub event: Event,
    /// RFC 3339 UTC with milliseconds.
    pub at: String,
}

impl Output {
    /// `event`, stamped now.
    pub fn event(event: &Event) -> Output {
        Output::Event(Stamped {
            event: event.clone(),
            at: crate::support::clock::now(),
        })
    }
}

/// Past installs and runs, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    pub installs: Vec<HistoryRecord>,
    pub runs: Vec<RunRecord>,
    /// What operators did outside runs (`upshift service`).
    #[serde(default)]
    pub actions: Vec<ActionRecord>,
}

/// Catalogued backups.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backups {
    pub backups: Vec<BackupRecord>,
}

/// One backup verified again (or skipped: a snapshot a restore consumed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verified {
    pub id: i64,
    pub ok: bool,
    pub error: Option<String>,
    /// When a restore consumed it; such a backup is skipped, not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_at: Option<String>,
}

/// The checks and whether all passed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checks {
    pub ok: bool,
    pub checks: Vec<CheckOutcome>,
}

/// A rehearsal with its outcome in summary form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RehearsalSummary {
    #[serde(flatten)]
    pub rehearsal: Rehearsal,
    /// As a run summary's `outcome`.
    pub summary: String,
    pub exit_code: i32,
}

impl RehearsalSummary {
    pub fn of(rehearsal: &Rehearsal) -> RehearsalSummary {
        RehearsalSummary {
            summary: rehearsal.outcome.summary_name().to_string(),
            exit_code: rehearsal.exit_code(),
            rehearsal: rehearsal.clone(),
        }
    }
}

/// Maintenance mode after the command: on, off, or unknown (`None`, with
/// how it is driven in `driver`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Maintenance {
    pub on: Option<bool>,
    pub driver: String,
}

/// The instance file `init` wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Initialized {
    pub file: PathBuf,
    pub product: String,
}
