//! Errors as the operator sees them: what went wrong, then what to do.

use upshift::operations::output::{Output, Summary};
use upshift::Error;

/// Prints `error` and returns its exit code.
pub fn report(error: &Error, json: bool) -> i32 {
    if json {
        super::json_line(&Output::Summary(Summary::of_error(error)));
    }
    eprintln!("error: {}", error.chain());
    if let Some(hint) = error.hint_text() {
        eprintln!("  hint: {hint}");
    }
    error.kind().exit_code()
}
