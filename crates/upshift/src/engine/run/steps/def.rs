//! What a step is: one definition per step, kept in the step's own file.
//!
//! Design decisions:
//! - A step is data: its window flag, its description, the function that
//!   does it and how a rollback undoes it. The plan shows these, the run
//!   engine goes by them; nothing else says anything about a step.
//! - How a step is undone is one of a few kinds, not a yes/no: a step may
//!   change nothing, leave something harmless behind on purpose, have its
//!   own undo, or be undone by another step's (the schema change, by
//!   restoring the backup). [`Step::reversible`] follows from the kind.
//! - What a step does is said per run kind where the words differ: the
//!   same `switch` points `current` at the new version in an upgrade and
//!   back at the earlier one in a rollback, and the plan must say which.

use crate::engine::plan::model::RunKind;
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::Result;

/// Does a step, or its undo.
pub type Act = fn(&mut Ctx) -> Result<Done>;

/// One step of a run.
#[derive(Debug)]
pub struct Step {
    pub kind: StepKind,
    /// It runs while the server is in maintenance.
    pub in_window: bool,
    /// What it does, in a line.
    pub words: Words,
    pub apply: Act,
    pub undo: Undo,
}

/// What a step does, in a line, for the kinds of run it is part of.
#[derive(Debug)]
pub enum Words {
    /// The same in every run it is part of.
    Same(&'static str),
    /// Said differently in an upgrade and in a rollback.
    ByKind {
        upgrade: &'static str,
        rollback: &'static str,
    },
}

/// How a rollback undoes a step.
#[derive(Debug)]
pub enum Undo {
    /// It changes nothing: there is nothing to undo.
    Nothing,
    /// What it makes stays, on purpose and harmless to the old version (a
    /// staged release, a verified backup): a rollback leaves it.
    Kept,
    /// Its own undo, run once the step started: it may have half acted.
    Run(Act),
    /// Its own undo, run only once the step finished: the undo needs what
    /// the step journaled.
    RunIfDone(Act),
    /// Undone by the undo of another step (the schema, by restoring the
    /// backup `backup-db` took).
    With(StepKind),
}

impl Step {
    /// What it does in a run of `kind`, in a line.
    pub fn describe(&self, kind: RunKind) -> &'static str {
        match (&self.words, kind) {
            (Words::Same(words), _) => words,
            (Words::ByKind { upgrade, .. }, RunKind::Upgrade) => upgrade,
            (Words::ByKind { rollback, .. }, RunKind::Rollback) => rollback,
        }
    }

    /// Whether a rollback after this step leaves nothing of it behind.
    pub fn reversible(&self) -> bool {
        !matches!(self.undo, Undo::Kept)
    }
}
