//! What a step sees while it runs, and what it hands back.

use super::report::NodeTiming;
use super::{OnFailure, Report};
use crate::engine::instance::Instance;
use crate::engine::plan::model::Plan;
use crate::engine::state::State;
use crate::engine::step::StepKind;
use crate::engine::step_outputs::StepOutput;
use crate::support::error::{Error, Result};
use crate::support::events::{Event, Reporter};
use crate::support::template::Vars;
use crate::support::version::Version;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The run's context, passed to every step.
pub struct Ctx<'a> {
    pub inst: &'a Instance,
    pub state: &'a State,
    pub run_id: &'a str,
    pub plan: &'a Plan,
    pub from: Version,
    pub to: Version,
    pub vars: Vars,
    pub reporter: &'a dyn Reporter,
    /// Outputs of the steps finished so far (from the journal on resume),
    /// as journaled: read them typed with [`Ctx::output`].
    pub outputs: BTreeMap<StepKind, serde_json::Value>,
    /// Steps that started, in order (from the journal on resume).
    pub started: Vec<StepKind>,
    /// Steps whose undo finished.
    pub undone: Vec<StepKind>,
    /// The next free journal sequence number.
    pub next_seq: usize,
    /// Journal sequence numbers of the plan's steps.
    seqs: BTreeMap<StepKind, usize>,
    /// When the maintenance window opened: by the wall clock, because a
    /// resumed run's window opened in the process that was killed (the
    /// journal says when, see `closes_window` and `replay`).
    window: Option<SystemTime>,
    /// How long it was open, once the last step inside it ended.
    window_closed: Option<u64>,
    pub on_failure: OnFailure,
    /// `rollback --force`: an undo that fails is recorded and skipped.
    pub force_undo: bool,
    pub report: Report,
    /// The journal name of the step running now (`stop`, `undo-switch`).
    pub current_step: String,
    /// Each node's part of the step running now (clusters only).
    pub node_timings: Vec<NodeTiming>,
}

/// A step that ended well.
#[derive(Debug, Default)]
pub struct Done {
    /// It found its work already done.
    pub skipped: bool,
    /// A line for the operator.
    pub detail: String,
    /// What later steps (and a resume or rollback) need to know, as
    /// journaled: an [`StepOutput`], or null.
    pub output: serde_json::Value,
}

impl Done {
    /// Finished, with a line for the operator.
    pub fn detail(detail: impl Into<String>) -> Done {
        Done {
            detail: detail.into(),
            ..Done::default()
        }
    }

    /// Nothing needed doing.
    pub fn skipped(detail: impl Into<String>) -> Done {
        Done {
            skipped: true,
            detail: detail.into(),
            ..Done::default()
        }
    }

    /// Adds the output kept in the journal.
    pub fn with_output(mut self, output: impl StepOutput) -> Done {
        self.output = output.to_journal();
        self
    }
}

impl<'a> Ctx<'a> {
    /// A context for a new run of `plan`.
    pub fn new(
        inst: &'a Instance,
        state: &'a State,
        run_id: &'a str,
        plan: &'a Plan,
        reporter: &'a dyn Reporter,
        on_failure: OnFailure,
    ) -> Self {
        let from = plan.from_version();
        let to = plan.to_version();
        let seqs = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.step, i))
            .collect();
        Ctx {
            vars: inst.vars(Some(&from), &to),
            inst,
            state,
            run_id,
            plan,
            from,
            to,
            reporter,
            outputs: BTreeMap::new(),
            started: Vec::new(),
            undone: Vec::new(),
            next_seq: plan.steps.len(),
            seqs,
            window: None,
            window_closed: None,
            on_failure,
            force_undo: false,
            report: Report::new(run_id, plan),
            current_step: String::new(),
            node_timings: Vec::new(),
        }
    }

    /// The journal sequence number of a planned step.
    pub fn seq_of(&self, step: StepKind) -> usize {
        self.seqs[&step]
    }

    /// Notes that the maintenance window is open (from now, unless the
    /// journal said it opened earlier).
    pub fn open_window(&mut self) {
        self.window.get_or_insert_with(SystemTime::now);
    }

    /// Notes that the journal says the window was open at `at`.
    pub(super) fn window_open_at(&mut self, at: SystemTime) {
        self.window = Some(self.window.map_or(at, |w| w.min(at)));
    }

    /// Notes that the journal says the window closed at `at`.
    pub(super) fn window_closed_at(&mut self, at: SystemTime) {
        self.window_closed = self.window.map(|w| millis(w, at));
    }

    /// Whether `step` is the plan's last step inside the window: the
    /// window closes when it ends.
    pub(super) fn closes_window(&self, step: StepKind) -> bool {
        let mut from = self.plan.steps.iter().skip_while(|s| s.step != step);
        from.next().is_some_and(|s| s.in_window) && from.all(|s| !s.in_window)
    }

    /// Whether any step inside the window has started: the server was touched.
    pub fn window_was_opened(&self) -> bool {
        self.plan
            .steps
            .iter()
            .any(|s| s.in_window && self.started.contains(&s.step))
    }

    /// The output of an earlier step of this run, as it journaled it.
    pub fn output<T: StepOutput>(&self) -> Result<T> {
        match self.outputs.get(&T::STEP) {
            Some(journaled) => T::from_journal(journaled),
            None => Err(Error::failed(format!(
                "the journal holds no output of `{}` for this run",
                T::STEP
            ))),
        }
    }

    /// Notes that the last step inside the window has ended.
    pub fn close_window(&mut self) {
        self.window_closed = self.window_ms();
    }

    /// How long the window was (or has been) open, across every process
    /// that worked on the run: steps after it, such as exporting a backup,
    /// do not count.
    pub fn window_ms(&self) -> Option<u64> {
        self.window_closed
            .or_else(|| self.window.map(|w| millis(w, SystemTime::now())))
    }

    /// Reports bytes moved by `step`.
    pub fn progress(&self, step: StepKind, done: u64, total: Option<u64>) {
        self.reporter.report(&Event::Progress {
            step: step.name().into(),
            done,
            total,
        });
    }
}

/// Milliseconds from `from` to `to` (0 if the clock went back).
fn millis(from: SystemTime, to: SystemTime) -> u64 {
    to.duration_since(from).unwrap_or_default().as_millis() as u64
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("run_id", &self.run_id)
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}
