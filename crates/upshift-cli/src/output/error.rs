//! Errors as the operator sees them: what went wrong, then what to do.

use super::errln;
use upshift::operations::output::{Output, Summary};
use upshift::Error;

/// Prints `error` and returns its exit code.
pub fn report(error: &Error, json: bool) -> i32 {
    if json {
        super::json_line(&Output::Summary(Summary::of_error(error)));
    }
    errln!("error: {}", error.chain());
    if let Some(hint) = error.hint_text() {
        errln!("  hint: {hint}");
    }
    error.kind().exit_code()
}
