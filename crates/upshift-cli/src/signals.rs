//! SIGINT, SIGTERM and SIGHUP: caught here, acted on by the library.
//!
//! Design decisions:
//! - signal-hook catches the signals on a thread of its own, which hands
//!   each one to the library's `interrupt::deliver`: the library decides
//!   (end the run safely, let a rollback finish, abort), the CLI tells the
//!   operator and exits when told to. SIGPIPE is left ignored, as Rust sets
//!   it: a closed stdout is `output`'s business.
//! - Exit codes: a run that a signal ended exits as any run does (1 rolled
//!   back, 3 stopped with `--on-failure stop`), with the signal named in its
//!   error and journal: the code keeps saying what state the instance is
//!   in, which is what scripts act on. When upshift exits at once (no run in
//!   flight, or a second signal aborted one) it exits 128 + the signal's
//!   number, as a shell reports a process the signal killed.
//! - Not for `node-agent`: on a node, the controlling upshift decides.

use crate::output::errln;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use upshift::support::interrupt::{self, Reaction};

/// Catches the signals for the rest of the process's life.
pub fn catch() {
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            errln!("warning: cannot catch SIGINT, SIGTERM and SIGHUP ({e}): one would stop upshift at once, leaving a run for `upshift resume`");
            return;
        }
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            react(signal);
        }
    });
}

/// Tells the library about `signal` and does what it says.
fn react(signal: i32) {
    let name = interrupt::name(signal);
    match interrupt::deliver(signal) {
        Reaction::Exit => std::process::exit(128 + signal),
        Reaction::EndRun => errln!(
            "upshift: {name}: ending the run after the step in flight (a command in flight is stopped), as after a failure; {name} again aborts at once"
        ),
        Reaction::FinishRollback => errln!(
            "upshift: {name}: the rollback goes on, to bring the instance back; {name} again aborts at once"
        ),
        Reaction::Abort => {
            errln!("upshift: aborted by a second {name}: the run is journaled as stopped; `upshift status` shows where, `upshift resume` or `upshift rollback` settles it");
            std::process::exit(128 + signal)
        }
    }
}
