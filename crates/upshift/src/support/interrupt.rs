//! Interrupts: what upshift does when it is asked to stop (SIGINT, SIGTERM,
//! SIGHUP) while it works.
//!
//! Design decisions:
//! - The library reacts; it installs no handler and never exits the process.
//!   The CLI catches the signals and hands each to [`deliver`], which says
//!   what to do with it ([`Reaction`]).
//! - The state is process-wide, as a signal is: the command runner deep in a
//!   driver sees it without a handle passed through every call.
//! - Outside a run (no [`Guard`]) nothing is at stake: the caller exits at
//!   once, as the default action would have.
//! - Inside a run, the first signal asks it to end safely, as after a
//!   failure: the engine checks [`pending`] before each step, and while the
//!   run goes forward the command runner stops the child in flight
//!   (SIGTERM, a grace period, SIGKILL). Once the run goes back
//!   ([`rolling_back`]) nothing is stopped: the rollback is what brings the
//!   instance back to health.
//! - A second signal aborts at once: the guard's hook journals the run as
//!   aborted (it stays resumable), every child command in flight is killed,
//!   and the thread that ran it waits for the process to exit instead of
//!   journaling anything after the abort.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering::SeqCst};
use std::sync::{Mutex, PoisonError};

/// What the caller of [`deliver`] does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// No run is in flight: exit now.
    Exit,
    /// The run going forward ends after the step in flight (whose command
    /// is stopped), rolling back or stopping as after a failure.
    EndRun,
    /// The rollback in flight goes on to its end.
    FinishRollback,
    /// A second signal: the run is journaled as aborted and its commands
    /// are killed: exit now.
    Abort,
}

/// What the journal hook of a run is told on abort: the reason.
type AbortHook = Box<dyn Fn(&str) + Send>;

const IDLE: u8 = 0;
const FORWARD: u8 = 1;
const BACK: u8 = 2;
const ABORTED: u8 = 3;

static PHASE: AtomicU8 = AtomicU8::new(IDLE);
/// The first signal received inside a run (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Process groups of the child commands being waited for.
static CHILDREN: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static ON_ABORT: Mutex<Option<AbortHook>> = Mutex::new(None);

/// Takes in `signal` (its number) and says what to do.
pub fn deliver(signal: i32) -> Reaction {
    let phase = PHASE.load(SeqCst);
    if phase == IDLE || phase == ABORTED {
        return Reaction::Exit;
    }
    if SIGNAL.compare_exchange(0, signal, SeqCst, SeqCst).is_ok() {
        return match phase {
            FORWARD => Reaction::EndRun,
            _ => Reaction::FinishRollback,
        };
    }
    PHASE.store(ABORTED, SeqCst);
    let hook = ON_ABORT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(journal) = hook {
        journal(&format!("aborted by a second {}", name(signal)));
    }
    for group in CHILDREN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        let _ = killpg(Pid::from_raw(*group), Signal::SIGKILL);
    }
    Reaction::Abort
}

/// The signal's name (`SIGTERM`), or its number.
pub fn name(signal: i32) -> String {
    Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {signal}"))
}

/// The signal that asked the run to end, if one did.
pub fn pending() -> Option<String> {
    match SIGNAL.load(SeqCst) {
        0 => None,
        signal => Some(name(signal)),
    }
}

/// The signal on whose account a command in flight must be stopped: one
/// was received while the run goes forward.
pub fn stopping() -> Option<String> {
    (PHASE.load(SeqCst) == FORWARD).then(pending).flatten()
}

/// From now on the run goes back: a first signal stops nothing.
pub fn rolling_back() {
    let _ = PHASE.compare_exchange(FORWARD, BACK, SeqCst, SeqCst);
}

/// After an abort the process is about to exit: the calling thread waits
/// for that instead of going on (and journaling after the abort).
pub fn hold_if_aborted() {
    while PHASE.load(SeqCst) == ABORTED {
        std::thread::park();
    }
}

/// A run in flight: signals are taken in as its interrupts while it lives.
#[derive(Debug)]
pub struct Guard(());

/// Starts a run's watch; `journal` records an abort (a second signal) with
/// its reason.
pub fn guard(journal: impl Fn(&str) + Send + 'static) -> Guard {
    *ON_ABORT.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(journal));
    let _ = PHASE.compare_exchange(IDLE, FORWARD, SeqCst, SeqCst);
    Guard(())
}

impl Drop for Guard {
    fn drop(&mut self) {
        ON_ABORT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let _ = PHASE.fetch_update(SeqCst, SeqCst, |p| (p != ABORTED).then_some(IDLE));
    }
}

/// A child command's process group, killed on abort while this lives.
#[derive(Debug)]
pub struct Watched(i32);

/// Watches the process group `group` until the result is dropped.
pub fn watch(group: i32) -> Watched {
    CHILDREN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(group);
    Watched(group)
}

impl Drop for Watched {
    fn drop(&mut self) {
        CHILDREN
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|g| *g != self.0);
    }
}
