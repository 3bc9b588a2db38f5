//! The result of a run, as the CLI prints it and `--json` emits it.
//!
//! Design decisions:
//! - Time is counted where it was spent: every step that spent time in the
//!   window has a row, a failed undo included, and so have the steps an
//!   earlier command of the same run journaled (marked `earlier`), since
//!   the window spans every command that worked on the run. What is left
//!   of the window is time no step spent (between steps and commands).

use super::Done;
use crate::engine::plan::model::Plan;
use crate::engine::state::{StepRecord, StepStatus};
use crate::engine::step::StepKind;
use crate::support::error::{Error, ErrorKind};
use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new version runs and passed its checks.
    Upgraded,
    /// A rollback run, asked for by an operator, finished: the previous
    /// version runs on its restored data.
    Reverted,
    /// Already on the target.
    NothingToDo,
    /// Refused before anything changed: bad input (checksum, signature, disk).
    Refused,
    /// Failed before the maintenance window: the server was not touched.
    Failed,
    /// Failed inside the window and rolled back: healthy on the old version.
    RolledBack,
    /// Stopped inside the window: an operator must decide (see `status`).
    NeedsOperator,
}

impl Outcome {
    pub(crate) fn failed_untouched(error: &Error) -> Outcome {
        match error.kind() {
            ErrorKind::Input | ErrorKind::Busy => Outcome::Refused,
            ErrorKind::Failed | ErrorKind::Unreachable => Outcome::Failed,
        }
    }

    /// The process exit code (DESIGN.md's CLI contract).
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Upgraded | Outcome::Reverted | Outcome::NothingToDo => 0,
            Outcome::Failed | Outcome::RolledBack => 1,
            Outcome::Refused => 2,
            Outcome::NeedsOperator => 3,
        }
    }

    /// The `outcome` field of the JSON summary.
    pub fn summary_name(self) -> &'static str {
        match self {
            Outcome::Upgraded => "upgraded",
            Outcome::NothingToDo => "nothing_to_do",
            Outcome::RolledBack | Outcome::Reverted => "rolled_back",
            Outcome::Refused | Outcome::Failed | Outcome::NeedsOperator => "failed",
        }
    }
}

/// One finished step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    /// The step's name (`undo-<step>` for an undo).
    pub step: String,
    pub ms: u64,
    pub in_window: bool,
    pub skipped: bool,
    pub failed: bool,
    pub detail: String,
    /// Each node's part of the step (clusters only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeTiming>,
    /// Run by an earlier command of this run (read from the journal).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub earlier: bool,
}

/// One node's part of a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeTiming {
    pub node: String,
    pub ms: u64,
    pub ok: bool,
    pub detail: String,
}

impl StepReport {
    pub(crate) fn new(step: StepKind, in_window: bool, ms: u64, done: &Done) -> Self {
        StepReport {
            step: step.name().to_string(),
            ms,
            in_window,
            skipped: done.skipped,
            failed: false,
            detail: done.detail.clone(),
            nodes: Vec::new(),
            earlier: false,
        }
    }

    /// A step an earlier command of the run journaled, if it took time.
    pub(crate) fn journaled(record: &StepRecord, in_window: bool) -> Option<Self> {
        Some(StepReport {
            step: record.name.clone(),
            ms: record.ms?,
            in_window,
            skipped: record.status == StepStatus::Skipped,
            failed: record.status == StepStatus::Failed,
            detail: record.error.clone().unwrap_or_default(),
            nodes: Vec::new(),
            earlier: true,
        })
    }

    /// An undo that failed.
    pub(crate) fn failed_undo(
        step: StepKind,
        in_window: bool,
        ms: u64,
        error: &Error,
        nodes: Vec<NodeTiming>,
    ) -> Self {
        StepReport {
            step: step.undo_name(),
            ms,
            in_window,
            skipped: false,
            failed: true,
            detail: error.to_string(),
            nodes,
            earlier: false,
        }
    }

    pub(crate) fn undo(step: StepKind, in_window: bool, ms: u64, done: &Done) -> Self {
        StepReport {
            step: step.undo_name(),
            ..StepReport::new(step, in_window, ms, done)
        }
    }
}

/// A run's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run_id: Option<String>,
    pub instance: String,
    pub from: String,
    pub to: String,
    pub outcome: Outcome,
    /// The maintenance window: from the first in-window step's start to the
    /// last one's end.
    pub window_ms: Option<u64>,
    pub steps: Vec<StepReport>,
    pub failed_step: Option<StepKind>,
    pub error: Option<String>,
    pub hint: Option<String>,
}

impl Report {
    pub(crate) fn new(run_id: &str, plan: &Plan) -> Self {
        Report {
            run_id: Some(run_id.to_string()),
            ..Report::nothing_to_do(plan)
        }
    }

    /// The report of a plan with nothing to do.
    pub fn nothing_to_do(plan: &Plan) -> Self {
        Report {
            instance: plan.instance.clone(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            ..Report::empty()
        }
    }

    /// An empty report, to move a finished one out of a context.
    pub(crate) fn empty() -> Self {
        Report {
            run_id: None,
            instance: String::new(),
            from: String::new(),
            to: String::new(),
            outcome: Outcome::NothingToDo,
            window_ms: None,
            steps: Vec::new(),
            failed_step: None,
            error: None,
            hint: None,
        }
    }

    pub(crate) fn push_failed(
        &mut self,
        step: StepKind,
        in_window: bool,
        ms: u64,
        error: &Error,
        nodes: Vec<NodeTiming>,
    ) {
        self.steps.push(StepReport {
            step: step.name().to_string(),
            ms,
            in_window,
            skipped: false,
            failed: true,
            detail: error.to_string(),
            nodes,
            earlier: false,
        });
        self.failed_step = Some(step);
        self.error = Some(error.chain());
        self.hint = error.hint_text().map(str::to_string);
    }

    /// Each in-window step's share of the window, in percent.
    pub fn shares(&self) -> Vec<(&StepReport, f64)> {
        let window = self.window_ms.unwrap_or(0).max(1) as f64;
        self.steps
            .iter()
            .filter(|s| s.in_window)
            .map(|s| (s, 100.0 * s.ms as f64 / window))
            .collect()
    }
}
