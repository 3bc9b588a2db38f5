//! The node agent: upshift on a remote node, driving it as a local node.
//!
//! [`RemoteNode`](crate::drivers::node::RemoteNode) copies this very binary to the node
//! once (named by its SHA-256) and keeps `upshift node-agent` running there
//! over ssh: one `Request` per line on its stdin (the instance file's
//! text, the node's name, the operation), one `Reply` per line on stdout
//! (the wire protocol is `drivers::node::protocol`). The
//! agent builds the node from the instance file exactly as a local node is
//! built, so a remote node's install, service and command checks run the
//! same code as a local one. Secrets are never part of a request: the
//! instance file only names where they are.

use crate::drivers::node::protocol::{Op, Reply, Request};
use crate::drivers::node::{LocalNode, Node};
use crate::engine::instance::Instance;
use crate::support::error::{Error, ErrorKind, Result};
use crate::support::lock::Lock;
use crate::support::version::Version;
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::time::Duration;

/// Serves requests from `input`, one JSON line each, answering each with
/// one line on `output`, until `input` ends.
pub fn serve(input: &mut dyn BufRead, output: &mut dyn Write) -> std::io::Result<()> {
    let mut line = String::new();
    while input.read_line(&mut line)? > 0 {
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(request) => match handle(request) {
                Ok(value) => Reply::Ok(value),
                Err(e) => Reply::Error {
                    kind: match e.kind() {
                        ErrorKind::Input => "input",
                        ErrorKind::Busy => "busy",
                        ErrorKind::Unreachable => "unreachable",
                        ErrorKind::Failed => "failed",
                    }
                    .into(),
                    message: e.chain(),
                    hint: e.hint_text().map(str::to_string),
                },
            },
            Err(e) => Reply::Error {
                kind: "input".into(),
                message: format!("the agent cannot read the request: {e}"),
                hint: Some("upshift and its agent on the node must be the same build".into()),
            },
        };
        serde_json::to_writer(&mut *output, &reply)?;
        output.write_all(b"\n")?;
        output.flush()?;
        line.clear();
    }
    Ok(())
}

fn handle(request: Request) -> Result<Value> {
    let loaded = crate::config::parse(&request.file, &request.path)?;
    let mut inst = Instance::from_loaded(loaded, Some(&request.state_dir))?;
    let mut node = inst.local_node(&request.node)?;
    let root = node.install.root().to_path_buf();
    // Commands run in the instance file's folder when this node has it (the
    // same path, a shared mount), else in the node's install root.
    if !inst.loaded.dir.is_dir() {
        let mut loaded = inst.loaded.clone();
        loaded.dir = root.clone();
        inst = Instance::from_loaded(loaded, Some(&request.state_dir))?;
        node = inst.local_node(&request.node)?;
    }
    // What changes the node holds the node's own lock, lent to the commands
    // it starts: a migration left running by an upshift that died keeps the
    // node busy, so no resume or rollback acts under it.
    let _lock = match request.op.changes() {
        true => Some(Lock::acquire(
            &root.join(".upshift"),
            &format!("node agent for {}", request.node),
        )?),
        false => None,
    };
    act(&node, &inst, request.op)
}

fn act(node: &LocalNode, inst: &Instance, op: Op) -> Result<Value> {
    let v = |text: &str| text.parse::<Version>();
    Ok(match op {
        Op::Current => json!(node.current()?.map(|v| v.to_string())),
        Op::IsStaged { version } => json!(node.is_staged(&v(&version)?)?),
        Op::Stage { version, artifact } => {
            if let Some((path, sha256)) = &artifact {
                let actual = crate::support::fsutil::sha256_file(path)?;
                if &actual != sha256 {
                    let _ = std::fs::remove_file(path);
                    return Err(Error::failed(format!(
                        "the release archive received at {} has SHA-256 {actual}, expected {sha256}",
                        path.display()
                    ))
                    .hint("the transfer was corrupted; run again to send it anew"));
                }
            }
            node.stage(
                &v(&version)?,
                artifact.as_ref().map(|(p, s)| (p.as_path(), s.as_str())),
            )?;
            if let Some((path, _)) = &artifact {
                let _ = std::fs::remove_file(path);
            }
            Value::Null
        }
        Op::Switch { version } => {
            node.switch(&v(&version)?)?;
            Value::Null
        }
        Op::IsRunning => json!(node.is_running()?),
        Op::Start { version } => {
            node.start(&v(&version)?)?;
            Value::Null
        }
        Op::Stop => {
            node.stop()?;
            Value::Null
        }
        Op::CommandChecks { version } => {
            json!(node.command_checks(&v(&version)?, inst.db.as_ref())?)
        }
        Op::Run {
            argv,
            from,
            to,
            timeout_ms,
            what,
        } => {
            node.run(
                &argv,
                &v(&from)?,
                &v(&to)?,
                Duration::from_millis(timeout_ms),
                &what,
            )?;
            Value::Null
        }
        Op::FreeSpace => json!(node.free_space()?),
    })
}
