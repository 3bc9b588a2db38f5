//! Failure injection for the fault-matrix tests (the `fail` crate).
//!
//! Built only with the `failpoints` feature, which only the integration
//! tests turn on: in a release build every [`hit`] is an empty function.
//! A test sets `FAILPOINTS="<name>=return(kill)"` to have upshift SIGKILL
//! itself at that point (a `kill -9` or power cut, with no cleanup at all),
//! or `return(error)` to make that point fail like a real error, or
//! `return(run:<program>)` to run a program there and go on (a test's way
//! to break something outside upshift, such as a node's sshd, at an exact
//! point of a run).
//!
//! Points: `before-<step>` (journaled as started, nothing done yet) and
//! `after-<step>` (done, not yet journaled as done) for every step and every
//! `undo-<step>`, plus `db-backup-copy`, `db-restore-copy` (inside SQLite's
//! page copy, before it commits; for a PostgreSQL snapshot, after the copy
//! is made and before its marker is written, and before the sealed snapshot
//! is renamed in), `switch-link` (the new link made, not yet renamed
//! over `current`) and `stage-unpack` (the release verified, not yet
//! unpacked).

use crate::support::error::Result;

/// Acts on the failpoint `name` if a test configured it.
pub fn hit(name: &str) -> Result<()> {
    let _ = name;
    fail::fail_point!(name, |arg: Option<String>| act(name, arg.as_deref()));
    Ok(())
}

#[cfg(feature = "failpoints")]
fn act(name: &str, arg: Option<&str>) -> Result<()> {
    if arg == Some("kill") {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    if let Some(program) = arg.and_then(|a| a.strip_prefix("run:")) {
        let ran = std::process::Command::new(program).status();
        return match ran {
            Ok(status) if status.success() => Ok(()),
            other => Err(crate::Error::failed(format!(
                "failpoint {name}: `{program}` failed: {other:?}"
            ))),
        };
    }
    Err(crate::Error::failed(format!("failpoint {name}")))
}
