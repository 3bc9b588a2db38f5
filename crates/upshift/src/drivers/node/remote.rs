//! A node reached over ssh, driven by an upshift agent copied onto it.
//!
//! The first operation copies this binary to `<root>/.upshift/agent/`
//! under a name holding its SHA-256 (only when that file is not there yet),
//! written to a temporary name, checked and renamed once complete. The
//! operations then go to one `ssh node <agent> node-agent` session kept
//! open over the node's multiplexed connection ([`super::session`]). A release archive is sent over the same connection to
//! `<root>/.upshift/incoming/` and checked against its SHA-256 on the node
//! before it is unpacked.

use super::protocol::{Op, Reply, Request};
use super::session::{Ended, Session};
use super::ssh::{ControlDir, Ssh};
use super::{LocalNode, Node};
use crate::config::{CheckConfig, SshConfig};
use crate::drivers::checks::CheckOutcome;
use crate::drivers::db::Database;
use crate::support::error::{Context, Error, Result};
use crate::support::version::Version;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A node on another machine.
#[derive(Debug)]
pub struct RemoteNode {
    name: String,
    ssh: Ssh,
    /// The install root on the node.
    root: PathBuf,
    checks: Vec<CheckConfig>,
    /// The node as the instance file describes it, for messages only: the
    /// agent on the node drives it.
    seen: LocalNode,
    /// The instance file's text and path, sent with every request.
    file: String,
    path: PathBuf,
    state_dir: PathBuf,
    timeout: Duration,
    /// The binary to copy as the agent; default the running one.
    agent_binary: Option<PathBuf>,
    /// The agent's path on the node, once it is known to be there.
    agent: OnceLock<String>,
    /// The agent session, while one is open.
    session: Mutex<Option<Session>>,
    used: AtomicBool,
}

/// Where a remote node is and what it runs.
#[derive(Debug)]
pub struct RemoteSpec<'a> {
    pub name: &'a str,
    pub user: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<u16>,
    pub root: &'a Path,
    pub checks: &'a [CheckConfig],
    /// The node as the instance file describes it, for messages.
    pub seen: LocalNode,
    pub ssh: &'a SshConfig,
    pub file: &'a str,
    pub path: &'a Path,
    pub state_dir: &'a Path,
    /// This process's folder for ssh control sockets.
    pub control_dir: Arc<ControlDir>,
}

impl RemoteNode {
    pub fn new(spec: RemoteSpec) -> RemoteNode {
        RemoteNode {
            name: spec.name.to_string(),
            ssh: Ssh::new(spec.user, spec.host, spec.port, spec.ssh, spec.control_dir),
            root: spec.root.to_path_buf(),
            checks: spec.checks.to_vec(),
            seen: spec.seen,
            file: spec.file.to_string(),
            path: spec.path.to_path_buf(),
            state_dir: spec.state_dir.to_path_buf(),
            timeout: spec.ssh.timeout,
            agent_binary: spec.ssh.agent.as_ref().map(|a| a.path().to_path_buf()),
            agent: OnceLock::new(),
            session: Mutex::new(None),
            used: AtomicBool::new(false),
        }
    }

    /// The agent's path on the node, copying it there first if needed.
    fn agent(&self) -> Result<&str> {
        if let Some(path) = self.agent.get() {
            return Ok(path);
        }
        self.used.store(true, Ordering::Relaxed);
        let (sha, exe) = agent_binary(self.agent_binary.as_deref())?;
        let path = self
            .root
            .join(".upshift/agent")
            .join(format!("upshift-{}", &sha[..16]))
            .display()
            .to_string();
        let present = self
            .ssh
            .run(&words(&["test", "-x", &path]), None, self.timeout)?
            .status
            .success();
        if !present {
            self.send(&path, &exe, &sha, "copying the upshift agent")?;
        }
        Ok(self.agent.get_or_init(|| path))
    }

    /// Streams the local file `from` to `path` on the node: into a new
    /// temporary file, checked against `sha256` there, then renamed, so an
    /// interrupted copy never lands under the final name.
    fn send(&self, path: &str, from: &Path, sha256: &str, what: &str) -> Result<()> {
        let file =
            std::fs::File::open(from).context(|| format!("cannot read {}", from.display()))?;
        let script = r#"umask 077 && mkdir -p -- "$(dirname -- "$1")" && t=$(mktemp "$1.XXXXXX") && { cat > "$t" && echo "$2  $t" | sha256sum -c --status && chmod 700 "$t" && mv -f -- "$t" "$1"; } || { rm -f -- "$t"; exit 1; }"#;
        self.ssh.run_ok(
            &words(&["sh", "-c", script, "sh", path, sha256]),
            Some(Box::new(file)),
            self.timeout,
            what,
        )?;
        Ok(())
    }

    /// Sends one operation to the agent and returns its answer.
    fn call(&self, op: Op) -> Result<Value> {
        self.call_within(op, self.timeout)
    }

    /// [`RemoteNode::call`] waiting at most `timeout` for the answer, over
    /// the node's agent session (opened on first use, and again after one
    /// ended).
    fn call_within(&self, op: Op, timeout: Duration) -> Result<Value> {
        let agent = words(&[self.agent()?, "node-agent"]);
        let request = Request {
            file: self.file.clone(),
            path: self.path.clone(),
            state_dir: self.state_dir.clone(),
            node: self.name.clone(),
            op,
        };
        let line = serde_json::to_vec(&request).context(|| "cannot encode a request".into())?;
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let open = match session.take() {
            Some(open) => open,
            None => Session::open(&self.ssh, &agent)?,
        };
        let asked = session.insert(open).ask(&line, timeout);
        let reply = match asked {
            Ok(reply) => reply,
            Err(ended) => {
                *session = None;
                return Err(match ended {
                    Ended::TimedOut => Error::failed(format!(
                        "node {}: no answer from its agent within {}",
                        self.name,
                        humantime::format_duration(timeout)
                    ))
                    .hint("the operation may still be running on the node, which holds the node's own lock until it ends"),
                    Ended::Closed(Some(status), stderr) if status.code() == Some(255) => {
                        self.ssh.lost(&agent, &stderr)
                    }
                    Ended::Closed(status, stderr) => Error::failed(format!(
                        "node {}: its agent ended ({}); stderr:\n{stderr}",
                        self.name,
                        status.map_or("no exit status".into(), |s| s.to_string())
                    )),
                });
            }
        };
        let reply: Reply = serde_json::from_str(&reply).map_err(|e| {
            Error::failed(format!(
                "node {}: the agent's answer cannot be read: {e}",
                self.name
            ))
        })?;
        reply.into_result(&self.name)
    }

    fn call_as<T: serde::de::DeserializeOwned>(&self, op: Op) -> Result<T> {
        let value = self.call(op)?;
        serde_json::from_value(value)
            .map_err(|e| Error::failed(format!("node {}: unexpected answer: {e}", self.name)))
    }
}

impl Node for RemoteNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self) -> String {
        format!(
            "{} ({}, {})",
            self.name,
            self.ssh.url(),
            self.root.display()
        )
    }

    fn current(&self) -> Result<Option<Version>> {
        let current: Option<String> = self.call_as(Op::Current)?;
        current.map(|v| v.parse()).transpose()
    }

    fn is_staged(&self, v: &Version) -> Result<bool> {
        self.call_as(Op::IsStaged {
            version: v.to_string(),
        })
    }

    fn stage(&self, v: &Version, artifact: Option<(&Path, &str)>) -> Result<()> {
        if self.is_staged(v)? {
            return Ok(());
        }
        let received = match artifact {
            Some((local, sha256)) => {
                let name = local.file_name().unwrap_or_default().to_string_lossy();
                let remote = self.root.join(".upshift/incoming").join(&*name);
                self.send(
                    &remote.display().to_string(),
                    local,
                    sha256,
                    "sending the release",
                )?;
                Some((remote, sha256.to_string()))
            }
            None => None,
        };
        self.call(Op::Stage {
            version: v.to_string(),
            artifact: received,
        })?;
        Ok(())
    }

    fn switch(&self, v: &Version) -> Result<()> {
        self.call(Op::Switch {
            version: v.to_string(),
        })?;
        Ok(())
    }

    fn is_running(&self) -> Result<bool> {
        self.call_as(Op::IsRunning)
    }

    fn start(&self, version: &Version) -> Result<()> {
        self.call(Op::Start {
            version: version.to_string(),
        })?;
        Ok(())
    }

    fn stop(&self) -> Result<()> {
        self.call(Op::Stop)?;
        Ok(())
    }

    fn command_checks(&self, version: &Version, _db: &dyn Database) -> Result<Vec<CheckOutcome>> {
        if !self
            .checks
            .iter()
            .any(|c| matches!(c, CheckConfig::Command { .. }))
        {
            return Ok(Vec::new());
        }
        self.call_as(Op::CommandChecks {
            version: version.to_string(),
        })
    }

    fn checks(&self) -> &[CheckConfig] {
        &self.checks
    }

    fn run(
        &self,
        argv: &[String],
        from: &Version,
        to: &Version,
        timeout: Duration,
        what: &str,
    ) -> Result<()> {
        // The command's own deadline rules (a migration may take hours);
        // the agent enforces it, ssh waits a little longer.
        let op = Op::Run {
            argv: argv.to_vec(),
            from: from.to_string(),
            to: to.to_string(),
            timeout_ms: timeout.as_millis() as u64,
            what: what.to_string(),
        };
        self.call_within(op, self.timeout.max(timeout + Duration::from_secs(60)))?;
        Ok(())
    }

    /// Rendered as the agent renders it: the node's own root.
    fn render(&self, argv: &[String], from: &Version, to: &Version) -> Vec<String> {
        self.seen.render(argv, from, to)
    }

    fn free_space(&self) -> Result<u64> {
        self.call_as(Op::FreeSpace)
    }

    fn describe_service(&self, version: Option<&Version>) -> String {
        format!("{} on {}", self.seen.describe_service(version), self.name)
    }
}

impl Drop for RemoteNode {
    fn drop(&mut self) {
        if self.used.load(Ordering::Relaxed) {
            // The agent first (it ends after what it is doing), then the
            // connection it used.
            drop(
                self.session
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take(),
            );
            self.ssh.close();
        }
    }
}

fn words(argv: &[&str]) -> Vec<String> {
    argv.iter().map(|s| s.to_string()).collect()
}

/// The agent binary's SHA-256 and path (`given`, or this very binary),
/// computed once per process.
fn agent_binary(given: Option<&Path>) -> Result<(String, PathBuf)> {
    static DONE: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe().context(|| "cannot find the upshift binary".into())?,
    };
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, sha)) = done.iter().find(|(p, _)| *p == path) {
        return Ok((sha.clone(), path));
    }
    let sha = crate::support::fsutil::sha256_file(&path)?;
    done.push((path.clone(), sha.clone()));
    Ok((sha, path))
}
