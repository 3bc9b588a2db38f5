//! Wall-clock stamps for what is written down: journal rows, catalog
//! entries, the lock's holder line. One format everywhere, so that rows
//! sort as text.

use std::time::SystemTime;

/// Now, as RFC 3339 UTC with milliseconds (`2026-11-26T11:30:05.123Z`).
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// A stamp written by [`now`], read back; `None` if it is not one.
pub fn parse(stamp: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(stamp).ok()
}
