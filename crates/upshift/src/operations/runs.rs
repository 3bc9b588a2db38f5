//! The three ways a run starts, `upgrade`, `resume` and `rollback`, as one
//! prepare-then-carry-out entry point each.
//!
//! Preparing takes the instance's [`RunGuard`] (its lock, the database's
//! lock, the state), applies the unfinished-run rules and decides what will
//! happen: the plan of a new upgrade, the unfinished run to carry on, or,
//! for a rollback, whether it undoes an unfinished run from its journal or
//! plans a rollback of the last succeeded upgrade. A front end shows the
//! [`Prepared`] action, asks the operator when [`Prepared::needs_approval`]
//! says so, and carries it out. The guard is held from the first read to
//! the last step, so nothing can change between what was shown and what is
//! done. Every decision lives here, so a second front end (an Ansible
//! module, a web page) behaves exactly as the CLI.

use crate::engine::guard::RunGuard;
use crate::engine::instance::Instance;
use crate::engine::plan::{self, Plan, Request, RollbackRequest};
use crate::engine::run::{self, OnFailure, Report};
use crate::engine::state::RunRecord;
use crate::support::error::{Error, Result};
use crate::support::events::Reporter;

/// What a prepared command will do.
#[derive(Debug)]
pub enum Action {
    /// A new upgrade run of this plan (nothing to do when it has no steps).
    Upgrade { plan: Plan, on_failure: OnFailure },
    /// Carry an interrupted run on from its journal.
    Resume {
        run: RunRecord,
        on_failure: OnFailure,
    },
    /// Undo an unfinished run from its journal (`force`: skip undos that
    /// fail; `discard_newer_data`: accept losing what users wrote once the
    /// new version had started).
    UndoUnfinished {
        run: RunRecord,
        force: bool,
        discard_newer_data: bool,
    },
    /// A rollback run of the last (or a named) succeeded upgrade.
    Rollback { plan: Plan },
}

/// A command prepared under the instance's guard.
#[derive(Debug)]
pub struct Prepared {
    guard: RunGuard,
    pub action: Action,
}

/// Prepares an upgrade: refused while a run is unfinished; plans it.
pub fn upgrade(
    inst: &Instance,
    request: &Request,
    on_failure: OnFailure,
    reporter: &dyn Reporter,
) -> Result<Prepared> {
    let guard = RunGuard::for_new_run(inst, "upgrade")?;
    let plan = plan::make(inst, &guard.state, request, reporter)?;
    Ok(Prepared {
        guard,
        action: Action::Upgrade { plan, on_failure },
    })
}

/// Prepares the resumption of the unfinished run; refused if there is none.
pub fn resume(inst: &Instance, on_failure: OnFailure) -> Result<Prepared> {
    let mut guard = RunGuard::take(inst, "resume")?;
    let run = guard.unfinished.take().ok_or_else(|| {
        Error::input("there is no unfinished run to resume")
            .hint("`upshift status` shows the last run")
    })?;
    Ok(Prepared {
        guard,
        action: Action::Resume { run, on_failure },
    })
}

/// Prepares a rollback: the unfinished run if there is one (a `--run`
/// naming another is refused), else a plan back from a succeeded upgrade.
pub fn rollback(
    inst: &Instance,
    request: &RollbackRequest,
    reporter: &dyn Reporter,
) -> Result<Prepared> {
    let mut guard = RunGuard::take(inst, "rollback")?;
    let action = match guard.unfinished.take() {
        Some(run) if request.run.as_ref().is_some_and(|id| id != &run.id) => {
            return Err(Error::input(format!(
                "run {} is unfinished; settle it before rolling back another run",
                run.id
            ))
            .hint("`upshift rollback` without --run undoes the unfinished run"));
        }
        Some(run) => Action::UndoUnfinished {
            run,
            force: request.force,
            discard_newer_data: request.discard_newer_data,
        },
        None => Action::Rollback {
            plan: plan::rollback(inst, &guard.state, request, reporter)?,
        },
    };
    Ok(Prepared { guard, action })
}

impl Prepared {
    /// Whether the operator must approve before it is carried out: a new
    /// run that changes something. Settling a run that already started
    /// (resume, undoing an unfinished run) needs no second yes.
    pub fn needs_approval(&self) -> bool {
        match &self.action {
            Action::Upgrade { plan, .. } => !plan.is_noop(),
            Action::Rollback { .. } => true,
            Action::Resume { .. } | Action::UndoUnfinished { .. } => false,
        }
    }

    /// Carries the action out; the guard is released when it returns.
    pub fn carry_out(self, inst: &Instance, reporter: &dyn Reporter) -> Result<Report> {
        let state = &self.guard.state;
        match &self.action {
            Action::Upgrade { plan, .. } if plan.is_noop() => Ok(Report::nothing_to_do(plan)),
            Action::Upgrade { plan, on_failure } => {
                run::execute(inst, state, plan, *on_failure, reporter)
            }
            Action::Resume { run, on_failure } => {
                run::resume(inst, state, run, *on_failure, reporter)
            }
            Action::UndoUnfinished {
                run,
                force,
                discard_newer_data,
            } => run::rollback_unfinished(inst, state, run, *force, *discard_newer_data, reporter),
            Action::Rollback { plan } => {
                run::execute(inst, state, plan, OnFailure::Rollback, reporter)
            }
        }
    }
}
