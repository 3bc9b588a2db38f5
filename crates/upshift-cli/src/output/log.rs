//! The library's log lines (`tracing`) on stderr.
//!
//! The library reports what a run does through events; `tracing` carries
//! the rest, such as a cached release that is not the release or a file
//! that could not be deleted. Warnings are shown by default, so none is
//! lost; `-v` adds info, `-vv` debug, `-q` leaves only errors, and
//! `RUST_LOG` (tracing's filter syntax) overrides all of them. Lines go to
//! stderr, never stdout, so `--json` output stays one value per line.

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber for this process.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
