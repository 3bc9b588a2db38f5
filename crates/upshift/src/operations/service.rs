//! `upshift service start|stop|status`: the instance's service driver,
//! driven by an operator, on every node.
//!
//! It is the way out when a run cannot settle because of the service: a
//! server that died inside the window leaves maintenance impossible to turn
//! off, and every `rollback` fails the same way until something starts it.
//!
//! Design decisions:
//! - `start` and `stop` take the instance lock, so they are refused (exit 2)
//!   while a run holds it, and the refusal names that run. An unfinished run
//!   that nobody holds (it stopped, or its upshift died) does not refuse:
//!   settling such a run is what this command is for.
//! - They are journaled in the state database as operator actions, before
//!   they act and after, like a run's steps.
//! - `start` starts the version `current` points at on each node, with that
//!   version's template values, as `resume` would.
//! - Every node is asked, in parallel; a node that fails does not stop the
//!   others, and the command fails naming it.

use crate::drivers::node::{self, Node};
use crate::engine::instance::Instance;
use crate::support::error::{Error, ErrorKind, Result};
use crate::support::lock::Lock;
use serde::{Deserialize, Serialize};

/// What the operator asks of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    Stop,
    Status,
}

impl ServiceAction {
    /// `start`, `stop` or `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Status => "status",
        }
    }
}

/// One node's service after the action.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeService {
    pub name: String,
    /// The driver and what it drives.
    pub service: String,
    /// Whether it runs; `None` when it could not be asked.
    pub running: Option<bool>,
    /// Why the node could not be asked.
    pub error: Option<String>,
}

/// What the action did and where the service stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceReport {
    /// `start`, `stop` or `status`.
    pub action: String,
    pub nodes: Vec<NodeService>,
}

/// Carries out `action` on every node of `inst`.
pub fn drive(inst: &Instance, action: ServiceAction) -> Result<ServiceReport> {
    if action != ServiceAction::Status {
        let name = format!("service {}", action.as_str());
        let _lock = lock(inst, &name)?;
        let state = inst.state()?;
        let id = state.start_action(&name)?;
        let failed = act(&inst.all_nodes(), action);
        let detail = match &failed {
            None => format!("{} on {} node(s)", action.as_str(), inst.nodes.len()),
            Some(e) => e.chain(),
        };
        state.finish_action(id, failed.is_none(), &detail)?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(ServiceReport {
        action: action.as_str().to_string(),
        nodes: status(&inst.all_nodes()),
    })
}

/// The instance lock, or a refusal naming the run that holds it.
fn lock(inst: &Instance, what: &str) -> Result<Lock> {
    inst.lock(what).map_err(|e| {
        if e.kind() != ErrorKind::Busy {
            return e;
        }
        let run = inst.state().ok().and_then(|s| s.unfinished_run().ok().flatten());
        match run {
            Some(run) => Error::busy(format!(
                "refusing `upshift {what}`: run {} ({} -> {}) holds the instance ({})",
                run.id, run.from, run.to, e
            ))
            .hint("a run drives the service itself; wait for it to finish (`upshift status` shows where it is), then try again"),
            None => e,
        }
    })
}

/// Starts or stops the service on every node; the first failure, naming
/// its node.
fn act(nodes: &[&dyn Node], action: ServiceAction) -> Option<Error> {
    let results = node::each(nodes, |node| match action {
        ServiceAction::Start => {
            let version = node.current()?.ok_or_else(|| {
                Error::failed(format!("no current version on {}", node.describe()))
                    .hint("`current` must link to an installed version to start it")
            })?;
            node.start(&version)
        }
        ServiceAction::Stop => node.stop(),
        ServiceAction::Status => Ok(()),
    });
    results.into_iter().find_map(|r| {
        r.result.err().map(|e| {
            let hint = e.hint_text().map(str::to_string);
            let error = Error::failed(format!(
                "service {} on node {}: {}",
                action.as_str(),
                r.node,
                e.chain()
            ));
            match hint {
                Some(hint) => error.hint(hint),
                None => error,
            }
        })
    })
}

/// Every node's service as it is now.
fn status(nodes: &[&dyn Node]) -> Vec<NodeService> {
    let asked = node::each(nodes, |node| Ok((node.is_running()?, node.current()?)));
    nodes
        .iter()
        .zip(asked)
        .map(|(node, asked)| NodeService {
            name: node.name().to_string(),
            service: node
                .describe_service(asked.result.as_ref().ok().and_then(|(_, v)| v.as_ref())),
            running: asked.result.as_ref().ok().map(|(running, _)| *running),
            error: asked.result.err().map(|e| e.chain()),
        })
        .collect()
}
