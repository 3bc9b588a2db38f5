//! Live progress of a run: a spinner with a timer per step on a terminal,
//! one plain line per step otherwise, or JSON lines with `--json`.

use super::outln;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;
use std::time::Duration;
use upshift::operations::output::Output;
use upshift::support::events::{Event, Reporter};

/// How progress is shown.
#[derive(Debug)]
pub enum Progress {
    /// One JSON object per event on stdout.
    Json,
    /// Plain lines on stdout.
    Plain,
    /// A spinner per step on a terminal.
    Terminal(Mutex<Option<ProgressBar>>),
}

impl Progress {
    /// The right form for this output.
    pub fn new(json: bool) -> Self {
        if json {
            Progress::Json
        } else if super::is_tty() {
            Progress::Terminal(Mutex::new(None))
        } else {
            Progress::Plain
        }
    }
}

impl Reporter for Progress {
    fn report(&self, event: &Event) {
        match self {
            Progress::Json => {
                if !matches!(event, Event::Progress { .. }) {
                    super::json_line(&Output::event(event));
                }
            }
            Progress::Plain => plain(event),
            Progress::Terminal(bar) => terminal(bar, event),
        }
    }
}

/// The suffix that marks a step inside the maintenance window.
fn window_mark(in_window: bool) -> &'static str {
    if in_window {
        " (in window)"
    } else {
        ""
    }
}

fn plain(event: &Event) {
    match event {
        Event::RunStarted { run_id, from, to } => outln!("run {run_id}: {from} -> {to}"),
        Event::StepStarted {
            step,
            index,
            total,
            in_window,
        } => {
            outln!("[{index}/{total}] {step}{}", window_mark(*in_window))
        }
        Event::StepFinished {
            step,
            ms,
            skipped,
            detail,
        } => outln!(
            "      {step} {} in {}: {detail}",
            if *skipped { "skipped" } else { "done" },
            super::ms(*ms)
        ),
        Event::StepFailed { step, ms, error } => {
            outln!("      {step} FAILED after {}: {error}", super::ms(*ms))
        }
        Event::Progress { .. } => {}
        Event::Note { message } => outln!("note: {message}"),
    }
}

fn terminal(slot: &Mutex<Option<ProgressBar>>, event: &Event) {
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    match event {
        Event::StepStarted {
            step,
            index,
            total,
            in_window,
        } => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{prefix}] {msg} {elapsed_precise}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(format!("{index}/{total}"));
            bar.set_message(format!("{step}{}", window_mark(*in_window)));
            bar.enable_steady_tick(Duration::from_millis(100));
            *slot = Some(bar);
        }
        Event::Progress { step, done, total } => {
            if let Some(bar) = slot.as_ref() {
                let total = total
                    .map(|t| format!(" / {:.1} MiB", t as f64 / 1048576.0))
                    .unwrap_or_default();
                bar.set_message(format!("{step} {:.1} MiB{total}", *done as f64 / 1048576.0));
            }
        }
        Event::StepFinished {
            step,
            ms,
            skipped,
            detail,
        } => {
            if let Some(bar) = slot.take() {
                let mark = if *skipped { "-" } else { "✓" };
                bar.finish_and_clear();
                outln!("{mark} {step:<16} {:>9}  {detail}", super::ms(*ms));
            }
        }
        Event::StepFailed { step, ms, error } => {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
            outln!("✗ {step:<16} {:>9}  {error}", super::ms(*ms));
        }
        Event::RunStarted { run_id, from, to } => outln!("run {run_id}: {from} -> {to}"),
        Event::Note { message } => outln!("note: {message}"),
    }
}
