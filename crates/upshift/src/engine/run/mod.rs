//! The run engine: carries a plan out step by step, journaled, and undoes it
//! when a step fails inside the maintenance window.
//!
//! Before a step acts, the journal records that it started; after, that it
//! finished (with its output, e.g. the id of the backup it took) or failed.
//! The journal is committed with `synchronous=FULL`, so after a crash the
//! state database says exactly which step was in flight, and [`resume`]
//! picks the run up there: every step first looks whether its work is
//! already done.
//!
//! - A failure before the window opened changed nothing on the server: the
//!   run ends `failed` (exit 2 for bad input such as a checksum mismatch,
//!   1 otherwise).
//! - A failure inside the window is undone (the default): every step that
//!   started is undone in reverse order (stop the new version, switch back,
//!   restore the verified backup and prove its checksum, start the old
//!   version and check it, maintenance off), each undo journaled as
//!   `undo-<step>`. The run ends `rolled_back` (exit 1), or, if an undo
//!   fails, `needs_operator` (exit 3) with the journal saying where.
//! - With [`OnFailure::Stop`] the run stops as `needs_operator` instead, for
//!   an operator to `resume` or `rollback`.
//! - A signal (see [`interrupt`]) ends a run like a failure: the step in
//!   flight finishes (or its command is stopped) and no other starts; the
//!   error names the signal. A rollback is not interrupted. A second signal
//!   aborts: the run's guard journals the steps in flight as failed and the
//!   run as `needs_operator`, resumable.

mod ctx;
mod forward;
mod newer_data;
mod nodes;
mod report;
pub mod steps;
mod undo;

pub use ctx::{Ctx, Done};
pub use report::{NodeTiming, Outcome, Report, StepReport};

use crate::engine::instance::Instance;
use crate::engine::plan::model::Plan;
use crate::engine::state::{RunRecord, RunStatus, State, StepStatus};
use crate::engine::step::StepKind;
use crate::support::clock;
use crate::support::error::{Error, Result};
use crate::support::events::{Event, Reporter};
use crate::support::interrupt;

/// What to do when a step fails inside the maintenance window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// Undo everything and come back up on the old version.
    #[default]
    Rollback,
    /// Stop where it failed, for an operator to `resume` or `rollback`.
    Stop,
}

/// Executes `plan` as a new run. The caller holds the instance lock.
///
/// Errors are returned only when the journal itself cannot be written, or
/// before anything starts for a release that cannot be trusted (see
/// [`crate::drivers::release::Source::trust_warning`]); a failing step is
/// reported in the [`Report`].
pub fn execute(
    inst: &Instance,
    state: &State,
    plan: &Plan,
    on_failure: OnFailure,
    reporter: &dyn Reporter,
) -> Result<Report> {
    if let Some(refusal) = plan
        .release
        .as_ref()
        .and_then(|r| inst.source.trust_warning(r))
    {
        return Err(refusal);
    }
    let plan_json = serde_json::to_value(plan).unwrap_or_default();
    let run_id = state.create_run(plan.kind.as_str(), &plan.from, &plan.to, &plan_json)?;
    reporter.report(&Event::RunStarted {
        run_id: run_id.clone(),
        from: plan.from.clone(),
        to: plan.to.clone(),
    });
    let _guard = guard(state, &run_id);
    let mut ctx = Ctx::new(inst, state, &run_id, plan, reporter, on_failure);
    forward::drive(&mut ctx, 0)
}

/// Takes signals in as this run's interrupts while it works; a second
/// signal is journaled through a connection of its own, from the thread
/// that caught it, while this one may be inside a step.
fn guard(state: &State, run_id: &str) -> interrupt::Guard {
    let dir = state.dir().to_path_buf();
    let run_id = run_id.to_string();
    interrupt::guard(move |reason| {
        if let Ok(state) = State::open(&dir) {
            let _ = state.abort_run(&run_id, reason);
        }
    })
}

/// Continues an unfinished run from its journal: forward from the first step
/// not done, or, if it was rolling back, on with the rollback.
pub fn resume(
    inst: &Instance,
    state: &State,
    run: &RunRecord,
    on_failure: OnFailure,
    reporter: &dyn Reporter,
) -> Result<Report> {
    let plan = journaled_plan(inst, run)?;
    state.resume_run(&run.id)?;
    let _guard = guard(state, &run.id);
    let mut ctx = Ctx::new(inst, state, &run.id, &plan, reporter, on_failure);
    let rolling_back = replay(&mut ctx)?;
    if rolling_back {
        return undo::all(&mut ctx, None);
    }
    let next = plan
        .steps
        .iter()
        .position(|s| !ctx.outputs.contains_key(&s.step))
        .unwrap_or(plan.steps.len());
    forward::drive(&mut ctx, next)
}

/// Rolls an unfinished run back from its journal. With `force`, an undo
/// that fails is recorded and skipped, and the run is settled as failed
/// (exit 3): for an operator who has decided to sort out the rest by hand.
/// Once the new version was started, users may have written to it: that
/// needs `discard_newer_data` (see `newer_data`), or nothing changes.
pub fn rollback_unfinished(
    inst: &Instance,
    state: &State,
    run: &RunRecord,
    force: bool,
    discard_newer_data: bool,
    reporter: &dyn Reporter,
) -> Result<Report> {
    let plan = journaled_plan(inst, run)?;
    newer_data::guard(inst, state, run, discard_newer_data, reporter)?;
    state.resume_run(&run.id)?;
    let _guard = guard(state, &run.id);
    let mut ctx = Ctx::new(inst, state, &run.id, &plan, reporter, OnFailure::Rollback);
    ctx.force_undo = force;
    replay(&mut ctx)?;
    undo::all(&mut ctx, None)
}

/// The plan a run was started with, as the journal keeps it.
fn journaled_plan(inst: &Instance, run: &RunRecord) -> Result<Plan> {
    // Like a new run: a missing secret is found before anything changes.
    inst.loaded.resolve_secrets()?;
    let mut plan: Plan = serde_json::from_value(run.plan.clone()).map_err(|e| {
        Error::failed(format!(
            "run {}: the journaled plan cannot be read ({e})",
            run.id
        ))
        .hint("this run was written by another upshift version; finish it with that version")
    })?;
    plan.refresh_release(inst)?;
    Ok(plan)
}

/// Loads what the journal says happened into `ctx`; true if the run was
/// already rolling back.
fn replay(ctx: &mut Ctx) -> Result<bool> {
    let mut rolling_back = false;
    for step in ctx.state.steps(ctx.run_id)? {
        ctx.next_seq = ctx.next_seq.max(step.seq + 1);
        let finished = matches!(step.status, StepStatus::Done | StepStatus::Skipped);
        if step.name.contains('@') {
            // One node's part of a step: the step's own row says how it
            // went. One still marked started was cut off with its process;
            // say so, so `status` does not show it as in flight.
            if step.status == StepStatus::Started {
                ctx.state.step_failed(
                    ctx.run_id,
                    step.seq,
                    0,
                    "interrupted: upshift stopped before this node's part was recorded",
                )?;
            }
            continue;
        }
        if let Some(kind) = step
            .name
            .strip_prefix("undo-")
            .and_then(StepKind::from_name)
        {
            rolling_back = true;
            ctx.report
                .steps
                .extend(StepReport::journaled(&step, steps::of(kind).in_window));
            journaled_window(ctx, &step.started_at, None);
            if finished {
                ctx.undone.push(kind);
            }
            continue;
        }
        let Some(kind) = StepKind::from_name(&step.name) else {
            return Err(Error::failed(format!(
                "run {}: unknown step `{}` in the journal",
                ctx.run_id, step.name
            )));
        };
        if !ctx.started.contains(&kind) {
            ctx.started.push(kind);
        }
        ctx.report
            .steps
            .extend(StepReport::journaled(&step, steps::of(kind).in_window));
        if steps::of(kind).in_window {
            let closed = step.finished_at.as_deref();
            journaled_window(
                ctx,
                &step.started_at,
                closed.filter(|_| ctx.closes_window(kind)),
            );
        }
        if finished {
            ctx.outputs.insert(kind, step.output);
        }
    }
    Ok(rolling_back)
}

/// Takes the window's opening (and closing) from a journaled step inside it,
/// so the window of a resumed run spans every process that worked on it.
fn journaled_window(ctx: &mut Ctx, started_at: &str, closed_at: Option<&str>) {
    if let Some(at) = clock::parse(started_at) {
        ctx.window_open_at(at);
    }
    if let Some(at) = closed_at.and_then(clock::parse) {
        ctx.window_closed_at(at);
    }
}

/// Where one journaled action stands in the run. Its number for the
/// operator is its journal sequence number + 1, as `status` shows it.
struct Slot<'a> {
    seq: usize,
    name: &'a str,
    reversible: bool,
    total: usize,
    in_window: bool,
}

/// Runs `act` as one journaled step: recorded as started before it acts,
/// with the failpoints `before-<name>` and `after-<name>` around it, then
/// recorded as finished or failed, with the events for each. Returns how
/// long it took and how it went; `Err` only when the journal cannot be
/// written.
fn journaled(
    ctx: &mut Ctx,
    slot: Slot,
    act: impl FnOnce(&mut Ctx) -> Result<Done>,
) -> Result<(u64, Result<Done>)> {
    ctx.state
        .step_started(ctx.run_id, slot.seq, slot.name, slot.reversible)?;
    ctx.current_step = slot.name.to_string();
    ctx.node_timings.clear();
    ctx.reporter.report(&Event::StepStarted {
        step: slot.name.into(),
        index: slot.seq + 1,
        total: slot.total.max(slot.seq + 1),
        in_window: slot.in_window,
    });
    let started = std::time::Instant::now();
    let result = crate::support::failpoint::hit(&format!("before-{}", slot.name))
        .and_then(|()| act(ctx))
        .and_then(|done| {
            crate::support::failpoint::hit(&format!("after-{}", slot.name)).map(|()| done)
        });
    let ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(done) => {
            ctx.state
                .step_finished(ctx.run_id, slot.seq, ms, done.skipped, &done.output)?;
            ctx.reporter.report(&Event::StepFinished {
                step: slot.name.into(),
                ms,
                skipped: done.skipped,
                detail: done.detail.clone(),
            });
        }
        Err(error) => {
            ctx.state
                .step_failed(ctx.run_id, slot.seq, ms, &error.chain())?;
            ctx.reporter.report(&Event::StepFailed {
                step: slot.name.into(),
                ms,
                error: error.chain(),
            });
        }
    }
    Ok((ms, result))
}

/// Ends the run in the journal and the report.
fn finish(
    ctx: &mut Ctx,
    status: RunStatus,
    outcome: Outcome,
    error: Option<&Error>,
) -> Result<Report> {
    let window_ms = ctx.window_ms();
    ctx.state.finish_run(
        ctx.run_id,
        status,
        window_ms,
        error.map(Error::chain).as_deref(),
    )?;
    ctx.report.outcome = outcome;
    ctx.report.window_ms = window_ms;
    if let Some(error) = error {
        ctx.report.error = Some(error.chain());
        ctx.report.hint = error.hint_text().map(str::to_string);
    }
    Ok(std::mem::replace(&mut ctx.report, Report::empty()))
}
