//! A long-lived agent session on one node: `ssh node <agent> node-agent`
//! kept open for the whole command, one JSON request per line on its stdin,
//! one reply per line on its stdout.
//!
//! Opening an ssh session costs the node a login shell each time (its
//! profile included, which can take a tenth of a second); a run makes
//! dozens of small requests per node, so they share one session. A session
//! that ends or does not answer in time is dropped, and the next request
//! opens a new one; how it ended (ssh's exit status) says whether the node
//! is unreachable.

use super::ssh::Ssh;
use crate::support::error::{Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An open session.
#[derive(Debug)]
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// Why a request got no reply.
#[derive(Debug)]
pub enum Ended {
    /// Nothing within the time given.
    TimedOut,
    /// The session ended: ssh's exit status and the last of its stderr.
    Closed(Option<ExitStatus>, String),
}

impl Session {
    /// Starts `argv` (the agent in serving mode) on the node.
    pub fn open(ssh: &Ssh, argv: &[String]) -> Result<Session> {
        let mut command = ssh.command_for(argv)?;
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = crate::support::lock::unlent(|| crate::support::cmd::spawn(&mut command))
            .context(|| "cannot start `ssh`".into())?;
        let (tx, replies) = std::sync::mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&buf[..n]);
                }
            });
        }
        Ok(Session {
            stdin: child.stdin.take(),
            child,
            replies,
            stderr,
        })
    }

    /// Sends one request line and waits at most `timeout` for its reply.
    pub fn ask(&mut self, request: &[u8], timeout: Duration) -> Result<String, Ended> {
        let sent = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(request)
                .and_then(|()| stdin.write_all(b"\n"))
                .and_then(|()| stdin.flush())
                .is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.end());
        }
        match self.replies.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(Ended::TimedOut),
            Err(RecvTimeoutError::Disconnected) => Err(self.end()),
        }
    }

    /// Waits briefly for the ended session's exit status.
    fn end(&mut self) -> Ended {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break None,
            }
        };
        let stderr = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&stderr);
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        Ended::Closed(status, crate::support::redact::redact(&tail))
    }
}

impl Drop for Session {
    /// Closes the agent's stdin (it exits after what it is doing), then
    /// makes sure the local ssh is gone.
    fn drop(&mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
