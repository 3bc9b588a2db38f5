//! Errors as the operator sees them: what went wrong, then what to do.

use super::errln;
use upshift::{Error, ErrorKind};

/// Prints `error` and returns its exit code.
pub fn report(error: &Error, json: bool) -> i32 {
    let code = exit_code(error);
    if json {
        super::json_line(&serde_json::json!({
            "type": "summary",
            "outcome": "failed",
            "state": if code == 2 { "refused" } else { "failed" },
            "exit_code": code,
            "from": null,
            "to": null,
            "run_id": null,
            "window_ms": null,
            "error": error.chain(),
            "hint": error.hint_text(),
        }));
    }
    errln!("error: {}", error.chain());
    if let Some(hint) = error.hint_text() {
        errln!("  hint: {hint}");
    }
    code
}

/// 2 for bad input or a busy instance (nothing changed), 3 otherwise: an
/// error outside a run's own accounting means someone should look.
pub fn exit_code(error: &Error) -> i32 {
    match error.kind() {
        ErrorKind::Input | ErrorKind::Busy => 2,
        ErrorKind::Failed | ErrorKind::Unreachable => 3,
    }
}
