//! Starting a server that cannot serve before upshift has recorded it.
//!
//! A crash between spawning the server and writing its pidfile used to
//! leave a server nobody tracked: it held the address, `start` refused, and
//! `stop` could not find it. So the server is started behind a gate: a
//! `/bin/sh` that first reads one line from a pipe and only then `exec`s the
//! server, keeping its pid and its start time (the pidfile's identity). The
//! driver writes the pidfile of that pid, then opens the gate. If upshift
//! dies before, the pipe's last writer is gone, `read` meets end of file and
//! the shell exits without ever running the server.
//!
//! Design decisions:
//! - The write end is created close-on-exec (`pipe2(O_CLOEXEC)`), so no other
//!   child (another node's server started by a parallel thread) can keep it
//!   open and hold a gate shut after upshift died.
//! - The program and its arguments reach the shell as positional
//!   parameters, never inside the script text: nothing is re-parsed.
//! - The server gets `/dev/null` as stdin once through the gate, as before.

use crate::support::error::{Context, Result};
use nix::fcntl::OFlag;
use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};

/// The shell script of the gate: `$0` is the server, `$@` its arguments.
const SCRIPT: &str = "read -r go && exec \"$0\" \"$@\" </dev/null";

/// The open end of a gate; dropping it unopened keeps the server from running.
#[derive(Debug)]
pub(super) struct Gate(File);

/// A command that runs `program` with `args` once its gate opens, and the gate.
pub(super) fn gated(program: &str, args: &[String]) -> Result<(Command, Gate)> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .context(|| "cannot make the pipe that gates the service's start".to_string())?;
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(SCRIPT)
        .arg(program)
        .args(args)
        .stdin(Stdio::from(read));
    Ok((command, Gate(File::from(write))))
}

impl Gate {
    /// Lets the server run: call once its pidfile is written.
    pub(super) fn open(mut self) -> Result<()> {
        self.0
            .write_all(b"go\n")
            .context(|| "cannot open the gate of the service just started (it exited?)".to_string())
    }
}
