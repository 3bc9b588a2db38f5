//! Everything the CLI prints: progress while a run works, reports after it,
//! errors, and the JSON-lines form of each.
//!
//! Design decisions: every line goes through [`outln!`] (stdout) or
//! [`errln!`] (stderr), which ignore a failed write. A reader that went away
//! (`upshift upgrade | head`, a closed terminal) must never abort a run inside
//! its maintenance window: the run carries on to its normal end with the
//! journal settled, and a read-only command ends with its usual exit code.
//! SIGPIPE stays ignored, as Rust sets it, so such a write fails with EPIPE
//! instead of killing upshift. `outln!` and friends, which panic on that
//! error, are denied in this crate (`clippy::print_stdout`).

pub mod error;
pub mod log;
pub mod progress;
pub mod report;

use std::io::{IsTerminal, Write};
use upshift::operations::output::Output;

/// `outln!` on stdout that never fails: see the module comment.
macro_rules! outln {
    () => {
        outln!("")
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(&mut ::std::io::stdout(), ::std::format_args!($($arg)*))
    };
}

/// `errln!` on stderr that never fails: see the module comment.
macro_rules! errln {
    () => {
        errln!("")
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(&mut ::std::io::stderr(), ::std::format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};

/// Writes `line` and a newline to `to`, ignoring a failed write.
pub fn write_line(to: &mut impl Write, line: std::fmt::Arguments) {
    let _ = writeln!(to, "{line}");
}

/// Writes `question` on stdout, without a newline, for an answer on stdin.
pub fn prompt(question: &str) {
    let mut stdout = std::io::stdout();
    let _ = write!(stdout, "{question} ");
    let _ = stdout.flush();
}

/// Prints one value of the `--json` contract as a line on stdout.
pub fn json_line(value: &Output) {
    match serde_json::to_string(value) {
        Ok(line) => outln!("{line}"),
        Err(e) => errln!("error: cannot write JSON output: {e}"),
    }
}

/// Whether stdout is a terminal (progress bars) or not (plain lines).
pub fn is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// Milliseconds as a short human duration.
pub fn ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}
