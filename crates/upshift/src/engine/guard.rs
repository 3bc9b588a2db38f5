//! The rules an unfinished run imposes on every other command, in one place.
//!
//! A run that did not finish (killed, stopped for an operator) owns the
//! instance until it is settled. What that means depends on what a command
//! does ([`Intent`]):
//! - commands that settle or show a run (`status`, `history`, `resume`,
//!   `rollback`) go on: they are how an operator settles it;
//! - commands that build on the instance's state (`clone`, `rehearse`) and
//!   a new run (`upgrade`) refuse, exit 2, naming the run and what to do;
//! - the rest (`plan`, `check`, `backup`, `maintenance`, ...) go on with a
//!   warning.
//!
//! A [`RunGuard`] is what a command that changes the instance holds: the
//! instance's lock (and the database's), the state database, and the
//! unfinished run if any, taken in that order so the check cannot race
//! another operator's start.

use crate::engine::instance::Instance;
use crate::engine::state::{RunRecord, State};
use crate::support::error::{Error, Result};
use crate::support::lock::Lock;

/// What a command does, as far as an unfinished run is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Shows or settles runs (status, history, resume, rollback), or starts
    /// one under its own guard (upgrade): never stopped here.
    Settle,
    /// Builds on the instance's state (clone, rehearse): refused.
    Build,
    /// Anything else: goes on, with a warning.
    Other,
}

/// Applies the unfinished-run rule for `intent`: an error for a refused
/// command, the warning to show for one that goes on, or nothing.
pub fn mind_unfinished(inst: &Instance, intent: Intent) -> Result<Option<String>> {
    if intent == Intent::Settle {
        return Ok(None);
    }
    let state = inst.state()?;
    if intent == Intent::Build {
        refuse_unfinished(&state)?;
        return Ok(None);
    }
    Ok(state.unfinished_run()?.map(|run| {
        format!(
            "run {} ({} -> {}) did not finish ({}); `upshift status` shows where it stopped, `upshift resume` or `upshift rollback` settles it",
            run.id,
            run.from,
            run.to,
            run.status.as_str()
        )
    }))
}

/// Refuses (exit 2) while a run is unfinished.
pub fn refuse_unfinished(state: &State) -> Result<()> {
    match state.unfinished_run()? {
        Some(run) => Err(Error::input(format!(
            "run {} ({} -> {}) did not finish: it is {}",
            run.id,
            run.from,
            run.to,
            run.status.as_str()
        ))
        .hint("`upshift status` shows where it stopped; `upshift resume` carries it on, `upshift rollback` undoes it")),
        None => Ok(()),
    }
}

/// The instance held by one command that changes it.
#[derive(Debug)]
pub struct RunGuard {
    _lock: Lock,
    pub state: State,
    /// The run that did not finish, if any.
    pub unfinished: Option<RunRecord>,
}

impl RunGuard {
    /// Takes the locks for `what` (a command name) and opens the state.
    pub fn take(inst: &Instance, what: &str) -> Result<RunGuard> {
        let lock = inst.lock(what)?;
        let state = inst.state()?;
        let unfinished = state.unfinished_run()?;
        Ok(RunGuard {
            _lock: lock,
            state,
            unfinished,
        })
    }

    /// As [`RunGuard::take`], for a new run: refused while a run is
    /// unfinished.
    pub fn for_new_run(inst: &Instance, what: &str) -> Result<RunGuard> {
        let guard = RunGuard::take(inst, what)?;
        refuse_unfinished(&guard.state)?;
        Ok(guard)
    }
}
