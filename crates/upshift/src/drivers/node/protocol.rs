//! The node agent's wire protocol: what a remote node is asked and what it
//! answers, one JSON line each way.
//!
//! It lives beside the remote node that speaks it, apart from the agent that
//! serves it (`operations::agent`), so that the driver layer never needs the
//! engine's instance to talk to a node.

use crate::support::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

/// What the agent is asked.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The instance file's text and path (relative paths resolve against its folder).
    pub file: String,
    pub path: PathBuf,
    pub state_dir: PathBuf,
    /// The node the agent acts as.
    pub node: String,
    pub op: Op,
}

/// One operation of [`Node`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Current,
    IsStaged {
        version: String,
    },
    /// `artifact`: where the release archive was received on the node, and
    /// the SHA-256 it must have.
    Stage {
        version: String,
        artifact: Option<(PathBuf, String)>,
    },
    Switch {
        version: String,
    },
    IsRunning,
    Start {
        version: String,
    },
    Stop,
    CommandChecks {
        version: String,
    },
    Run {
        argv: Vec<String>,
        from: String,
        to: String,
        timeout_ms: u64,
        what: String,
    },
    FreeSpace,
}

impl Op {
    /// Whether the operation changes the node (and so takes its lock).
    pub fn changes(&self) -> bool {
        !matches!(
            self,
            Op::Current | Op::IsStaged { .. } | Op::IsRunning | Op::FreeSpace
        )
    }
}

/// The agent's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Ok(Value),
    Error {
        kind: String,
        message: String,
        hint: Option<String>,
    },
}

impl Reply {
    /// The value, or the error the agent reported, as an [`Error`].
    pub fn into_result(self, node: &str) -> Result<Value> {
        match self {
            Reply::Ok(value) => Ok(value),
            Reply::Error {
                kind,
                message,
                hint,
            } => {
                let message = format!("node {node}: {message}");
                let error = match kind.as_str() {
                    "input" => Error::input(message),
                    "busy" => Error::busy(message),
                    "unreachable" => Error::unreachable(message),
                    _ => Error::failed(message),
                };
                Err(match hint {
                    Some(hint) => error.hint(hint),
                    None => error,
                })
            }
        }
    }
}
