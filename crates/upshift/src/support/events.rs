//! What a run tells the outside world while it works.
//!
//! The library never prints: it sends [`Event`]s to a [`Reporter`]. The CLI
//! turns them into a progress display, plain lines or JSON lines; tests
//! collect them. Events never carry secret values.

use serde::{Deserialize, Serialize};

/// Something worth telling while a run works.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A run began.
    RunStarted {
        run_id: String,
        from: String,
        to: String,
    },
    /// A step began.
    StepStarted {
        step: String,
        index: usize,
        total: usize,
        in_window: bool,
    },
    /// A step ended well (`skipped` when it found nothing to do).
    StepFinished {
        step: String,
        ms: u64,
        skipped: bool,
        detail: String,
    },
    /// A step failed.
    StepFailed {
        step: String,
        ms: u64,
        error: String,
    },
    /// Bytes moved so far (download, backup); `total` when known.
    Progress {
        step: String,
        done: u64,
        total: Option<u64>,
    },
    /// A remark that is not a step (a warning, a choice made).
    Note { message: String },
}

/// Receives events.
pub trait Reporter {
    /// Called for each event, in order.
    fn report(&self, event: &Event);

    /// Tells of a choice made or a thing not checked, as an [`Event::Note`].
    fn note(&self, message: String) {
        self.report(&Event::Note { message });
    }
}

/// A reporter that drops everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _: &Event) {}
}
