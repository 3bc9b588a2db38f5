//! Scrubbing secrets from text that came from elsewhere.
//!
//! Every secret value this process reads is remembered here, so that text
//! it did not write (a command's stderr, a server log, an error chain) can be
//! scrubbed before it is shown or journaled. It sits below the error type,
//! which scrubs every message it renders.

use std::sync::Mutex;

/// Every secret value this process has read, so that text from elsewhere
/// (a command's stderr, a server log, an error chain) can be scrubbed of
/// them before it is shown or journaled.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `value` as secret (short values are ignored: scrubbing them
/// would mangle ordinary text).
pub fn remember(value: &str) {
    let value = value.trim();
    if value.len() >= 6 {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.iter().any(|s| s == value) {
            seen.push(value.to_string());
        }
    }
}

/// `text` with every remembered secret value replaced by `***`.
pub fn redact(text: &str) -> String {
    let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.iter().fold(text.to_string(), |t, secret| {
        t.replace(secret.as_str(), "***")
    })
}
