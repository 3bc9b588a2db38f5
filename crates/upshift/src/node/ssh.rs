//! The system `ssh`, so the operator's `~/.ssh/config`, agent and
//! `known_hosts` apply: never a password prompt (`BatchMode`), never a new
//! host key accepted silently, one multiplexed connection per node.
//!
//! Remote commands are argv vectors quoted for the remote shell one word at
//! a time ([`shlex`]), so a path with spaces or quotes stays one argument.
//! ssh exits 255 when it cannot reach the node or log in: that is
//! [`ErrorKind::Unreachable`](crate::ErrorKind::Unreachable), distinct from
//! the remote command failing.

use crate::cmd::{self, Input, Output};
use crate::config::SshConfig;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How to reach one node.
#[derive(Debug, Clone)]
pub struct Ssh {
    /// `user@host` or `host`.
    target: String,
    port: Option<u16>,
    config: Option<PathBuf>,
    connect_timeout: Duration,
    /// The multiplexed connection's socket (`%C` is ssh's hash of the host).
    control_path: PathBuf,
}

impl Ssh {
    /// A connection to `host` as `user`; the control socket lives in a
    /// private folder named after `state_dir`, short enough for a socket path.
    pub fn new(
        user: Option<&str>,
        host: &str,
        port: Option<u16>,
        cfg: &SshConfig,
        state_dir: &Path,
    ) -> Ssh {
        let tag = hex::encode(&Sha256::digest(state_dir.as_os_str().as_encoded_bytes())[..6]);
        let control_dir = std::env::temp_dir().join(format!("upshift-ssh-{tag}"));
        Ssh {
            target: match user {
                Some(user) => format!("{user}@{host}"),
                None => host.to_string(),
            },
            port,
            config: cfg.config.as_ref().map(|c| c.path().to_path_buf()),
            connect_timeout: cfg.connect_timeout,
            control_path: control_dir.join("%C"),
        }
    }

    /// `ssh://user@host:port`, for messages.
    pub fn url(&self) -> String {
        match self.port {
            Some(port) => format!("ssh://{}:{port}", self.target),
            None => format!("ssh://{}", self.target),
        }
    }

    fn command(&self) -> Command {
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
            .arg(format!("ControlPath={}", self.control_path.display()));
        command
    }

    /// Runs `argv` on the node, `input` on its stdin; the output whatever
    /// the remote exit status, or an unreachable error.
    pub fn run(&self, argv: &[String], input: Option<Input>, timeout: Duration) -> Result<Output> {
        if let Some(dir) = self.control_path.parent() {
            crate::state::create_private_dir(dir)?;
        }
        let mut command = self.command();
        command.arg("--").arg(&self.target).arg(quote(argv)?);
        let out = cmd::run_command(command, input, timeout, false)?;
        if out.status.code() == Some(255) {
            return Err(Error::unreachable(format!(
                "cannot reach {}: {}",
                self.url(),
                out.stderr_tail().lines().last().unwrap_or("ssh failed")
            ))
            .hint("check that the node is up and `ssh` to it works without a prompt (BatchMode); the run can `resume` once it answers"));
        }
        Ok(out)
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
        let mut command = self.command();
        command.args(["-O", "exit", "--"]).arg(&self.target);
        let _ = cmd::run_command(command, None, Duration::from_secs(5), false);
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
