//! Everything the CLI prints: progress while a run works, reports after it,
//! errors, and the JSON-lines form of each.

pub mod error;
pub mod log;
pub mod progress;
pub mod report;

use std::io::IsTerminal;
use upshift::operations::output::Output;

/// Prints one value of the `--json` contract as a line on stdout.
pub fn json_line(value: &Output) {
    match serde_json::to_string(value) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("error: cannot write JSON output: {e}"),
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
