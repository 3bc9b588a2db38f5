//! The system `ssh`, so the operator's `~/.ssh/config`, agent and
//! `known_hosts` apply: never a password prompt (`BatchMode`), never a new
//! host key accepted silently, one multiplexed connection per node.
//!
//! Remote commands are argv vectors quoted for the remote shell one word at
//! a time ([`shlex`]), so a path with spaces or quotes stays one argument.
//! ssh exits 255 when it cannot reach the node or log in: that is
//! [`ErrorKind::Unreachable`](crate::ErrorKind::Unreachable), distinct from
//! the remote command failing.

use crate::config::SshConfig;
use crate::support::cmd::{self, Input, Output};
use crate::support::error::Context;
use crate::support::error::{Error, Result};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How to reach one node.
#[derive(Debug, Clone)]
pub struct Ssh {
    /// `user@host` or `host`.
    target: String,
    port: Option<u16>,
    config: Option<PathBuf>,
    connect_timeout: Duration,
    /// Where the multiplexed connection's socket lives.
    control_dir: Arc<ControlDir>,
}

/// This process's own private folder for control sockets (0700, random
/// name, removed when the last connection using it is dropped), made on
/// first use: another upshift (a `status` beside a running upgrade) never
/// shares, or closes, this one's connections, and a process that never
/// connects (a node agent, `plan` of a local cluster) makes none.
#[derive(Debug, Default)]
pub struct ControlDir(OnceLock<tempfile::TempDir>);

impl ControlDir {
    /// The socket path (`%C` is ssh's hash of the host), short enough for a
    /// socket.
    fn socket(&self) -> Result<PathBuf> {
        let dir = match self.0.get() {
            Some(dir) => dir,
            None => {
                let made = tempfile::Builder::new()
                    .prefix("upshift-ssh-")
                    .tempdir()
                    .context(|| "cannot create a folder for ssh connections".into())?;
                self.0.get_or_init(|| made)
            }
        };
        Ok(dir.path().join("%C"))
    }
}

impl Ssh {
    /// A connection to `host` as `user`, its control socket in `control_dir`.
    pub fn new(
        user: Option<&str>,
        host: &str,
        port: Option<u16>,
        cfg: &SshConfig,
        control_dir: Arc<ControlDir>,
    ) -> Ssh {
        Ssh {
            target: match user {
                Some(user) => format!("{user}@{host}"),
                None => host.to_string(),
            },
            port,
            config: cfg.config.as_ref().map(|c| c.path().to_path_buf()),
            connect_timeout: cfg.connect_timeout,
            control_dir,
        }
    }

    /// `ssh://user@host:port`, for messages.
    pub fn url(&self) -> String {
        match self.port {
            Some(port) => format!("ssh://{}:{port}", self.target),
            None => format!("ssh://{}", self.target),
        }
    }

    fn command(&self) -> Result<Command> {
        let mut command = Command::new("ssh");
        if let Some(config) = &self.config {
            command.arg("-F").arg(config);
        }
        if let Some(port) = self.port {
            command.arg("-p").arg(port.to_string());
        }
        command
            .args(["-o", "BatchMode=yes"])
            .arg("-o")
            .arg(format!(
                "ConnectTimeout={}",
                self.connect_timeout.as_secs().max(1)
            ))
            .args(["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"])
            .args(["-o", "ControlMaster=auto", "-o", "ControlPersist=300"])
            .arg("-o")
            .arg(format!(
                "ControlPath={}",
                self.control_dir.socket()?.display()
            ));
        Ok(command)
    }

    /// Runs `argv` on the node, `input` on its stdin; the output whatever
    /// the remote exit status, or an unreachable error.
    pub fn run(&self, argv: &[String], input: Option<Input>, timeout: Duration) -> Result<Output> {
        let out = cmd::run_command(self.command_for(argv)?, input, timeout, false)?;
        if out.status.code() != Some(255) {
            return Ok(out);
        }
        Err(self.lost(argv, &out.stderr_tail()))
    }

    /// The `ssh` command that runs `argv` on the node.
    pub fn command_for(&self, argv: &[String]) -> Result<Command> {
        let mut command = self.command()?;
        command.arg("--").arg(&self.target).arg(quote(argv)?);
        Ok(command)
    }

    /// The error for an `ssh` running `argv` that exited 255 with
    /// `stderr_tail`. ssh says 255 for its own failures, and also when the
    /// remote command died of a signal: only a node that does not answer a
    /// trivial command now is unreachable.
    pub fn lost(&self, argv: &[String], stderr_tail: &str) -> Error {
        let answers = self
            .command_for(&["true".to_string()])
            .and_then(|probe| cmd::run_command(probe, None, self.connect_timeout * 2, false))
            .is_ok_and(|o| o.status.success());
        let said = stderr_tail.lines().last().unwrap_or("no message");
        if answers {
            return Error::failed(format!(
                "on {}, `{}` was ended by ssh (exit 255) although the node answers: {said}",
                self.url(),
                argv.first().map(String::as_str).unwrap_or_default(),
            ))
            .hint("look at the node: the command may have been killed (out of memory?)");
        }
        Error::unreachable(format!("cannot reach {}: {said}", self.url()))
            .hint("check that the node is up and `ssh` to it works without a prompt (BatchMode); the run can `resume` once it answers")
    }

    /// Runs `argv` on the node and fails unless it exits 0.
    pub fn run_ok(
        &self,
        argv: &[String],
        input: Option<Input>,
        timeout: Duration,
        what: &str,
    ) -> Result<Output> {
        let out = self.run(argv, input, timeout)?;
        if out.status.success() {
            return Ok(out);
        }
        Err(Error::failed(format!(
            "{what} on {}: exited with {}; stderr:\n{}",
            self.url(),
            out.status,
            out.stderr_tail()
        )))
    }

    /// Closes the multiplexed connection, if one is open.
    pub fn close(&self) {
        if let Ok(mut command) = self.command() {
            command.args(["-O", "exit", "--"]).arg(&self.target);
            let _ = cmd::run_command(command, None, Duration::from_secs(5), false);
        }
    }
}

/// One shell word per argument, for the remote shell ssh hands the line to.
fn quote(argv: &[String]) -> Result<String> {
    shlex::try_join(argv.iter().map(String::as_str))
        .map_err(|_| Error::input("a remote command argument contains a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_each_word_for_the_remote_shell() {
        let argv: Vec<String> = ["/opt/my app/bin", "it's", "$(rm -rf /)", "a;b"]
            .map(String::from)
            .to_vec();
        let line = quote(&argv).unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("printf '%s\\n' {line}")])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "/opt/my app/bin\nit's\n$(rm -rf /)\na;b\n"
        );
    }
}
