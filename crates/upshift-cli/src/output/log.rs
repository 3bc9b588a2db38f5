//! The library's log lines (`tracing`) on stderr, and in the state folder.
//!
//! The library reports what a run does through events; `tracing` carries
//! the rest, such as a cached release that is not the release or a file
//! that could not be deleted. Warnings are shown by default, so none is
//! lost; `-v` adds info, `-vv` debug, `-q` leaves only errors, and
//! `RUST_LOG` (tracing's filter syntax) overrides all of them. Lines go to
//! stderr, never stdout, so `--json` output stays one value per line.
//!
//! Once the instance is open and its state folder exists, the same lines
//! are also appended to `<state_dir>/logs/upshift.log` (folder 0700, file
//! 0600), each stamped with the time and scrubbed of every secret value
//! upshift has read, so a warning seen at 2 a.m. is still there in the
//! morning. A log line that cannot be written is dropped: logging never
//! fails a command.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The state folder's log file, once the instance is open.
static FILE: OnceLock<Mutex<File>> = OnceLock::new();

/// Installs the subscriber for this process.
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
        .with_writer(Tee)
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// From now on, also appends the log lines to `<state_dir>/logs/upshift.log`;
/// nothing when the state folder does not exist yet or the file cannot be
/// opened (the lines still reach stderr).
pub fn to_state_folder(state_dir: &Path) {
    if !state_dir.is_dir() {
        return;
    }
    let dir = state_dir.join("logs");
    if upshift::support::private_dir::create(&dir, "the log folder").is_err() {
        return;
    }
    // The folder is upshift's own (0700), so nobody else can plant a link
    // there; one found anyway is not followed.
    let path = dir.join("upshift.log");
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        return;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path);
    if let Ok(file) = file {
        let _ = FILE.set(Mutex::new(file));
    }
}

/// Writes each log line to stderr and, once set, to the state folder's file.
struct Tee;

impl<'a> MakeWriter<'a> for Tee {
    type Writer = Tee;

    fn make_writer(&'a self) -> Tee {
        Tee
    }
}

impl Write for Tee {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(line);
        if let Some(file) = FILE.get() {
            let text = upshift::support::redact::redact(&String::from_utf8_lossy(line));
            let stamped = format!("{} {text}", upshift::support::clock::now());
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = file.write_all(stamped.as_bytes());
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
