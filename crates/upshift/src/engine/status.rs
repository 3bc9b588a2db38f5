//! `upshift status` as data: the instance now (each node's version and
//! service, maintenance), its last run with its steps, whether an upshift
//! is working on it right now, and what the operator should do next.
//!
//! Design decisions:
//! - A live upshift holds the state folder's lock; a run marked running
//!   without one died. A lock held while the run's upshift is dead is held
//!   by a command it started that outlived it: the advice names it. Only this state folder's lock is probed: the
//!   database's is another operator's business, and probing it could turn
//!   their starting run away.
//! - Nodes are asked in parallel; one that cannot be asked is shown with
//!   its error instead of failing the whole status.
//! - The advice is decided here, not by a front end, so every front end
//!   (the CLI, an Ansible module) tells the operator the same thing.

use crate::drivers::node;
use crate::engine::instance::Instance;
use crate::engine::state::{RunRecord, RunStatus, StepRecord};
use crate::support::error::{ErrorKind, Result};
use crate::support::holders::{self, Holder};
use crate::support::lock::{Lock, LOCK_FILE};
use serde::{Deserialize, Serialize};

/// The instance and its last run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub instance: String,
    /// The first node's version (the instance's, without `[[nodes]]`).
    pub version: Option<String>,
    pub service_running: Option<bool>,
    pub nodes: Vec<NodeStatus>,
    /// Maintenance mode: on, off, or unknown (`None`).
    pub maintenance: Option<bool>,
    pub last_run: Option<RunRecord>,
    /// The last run's steps, in the order they were journaled.
    pub steps: Vec<StepRecord>,
    /// What to do about the last run.
    pub advice: Option<String>,
    /// Whether an upshift works on the instance right now (its lock is held
    /// by a live upshift, not by an orphaned command).
    pub run_in_progress: bool,
}

/// One node as `status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStatus {
    pub name: String,
    pub location: String,
    pub service: String,
    pub version: Option<String>,
    pub running: Option<bool>,
    /// Why the node could not be asked (unreachable, say).
    pub error: Option<String>,
}

/// Reads the status of `inst`; changes nothing.
pub fn of(inst: &Instance) -> Result<Status> {
    let state = inst.state()?;
    let nodes = nodes(inst);
    let maintenance = inst.maintenance.status().ok().flatten();
    let last = state.runs(1)?.into_iter().next();
    let steps = match &last {
        Some(run) => state.steps(&run.id)?,
        None => Vec::new(),
    };
    let probe = Lock::acquire(&inst.state_dir, "status");
    let busy = matches!(probe, Err(e) if e.kind() == ErrorKind::Busy);
    // Held, but the run's upshift is dead: a command it started (and lent
    // the lock to) outlived it.
    let orphans = match &last {
        Some(run) if busy && run.status == RunStatus::Running && !holders::is_alive(run.pid) => {
            Some(holders::holders(&inst.state_dir.join(LOCK_FILE)))
        }
        _ => None,
    };
    let live = busy && orphans.is_none();
    let advice = last
        .as_ref()
        .map(|run| advice(run, &steps, live, orphans.as_deref()));
    let first = nodes.first();
    Ok(Status {
        instance: inst.name().to_string(),
        version: first.and_then(|n| n.version.clone()),
        service_running: first.and_then(|n| n.running),
        maintenance,
        last_run: last,
        steps,
        advice,
        run_in_progress: live,
        nodes,
    })
}

/// Every node's version and state, asked in parallel.
fn nodes(inst: &Instance) -> Vec<NodeStatus> {
    let asked = node::each(&inst.all_nodes(), |node| {
        Ok((node.current()?, node.is_running()?))
    });
    inst.nodes
        .iter()
        .zip(asked)
        .map(|(node, asked)| {
            let (version, running, error) = match asked.result {
                Ok((version, running)) => (version, Some(running), None),
                Err(e) => (None, None, Some(e.chain())),
            };
            NodeStatus {
                name: node.name().to_string(),
                location: node.describe(),
                service: node.describe_service(version.as_ref()),
                version: version.map(|v| v.to_string()),
                running,
                error,
            }
        })
        .collect()
}

/// What the operator should do about the last run.
fn advice(run: &RunRecord, steps: &[StepRecord], live: bool, orphans: Option<&[Holder]>) -> String {
    let last = steps
        .iter()
        .max_by_key(|s| (s.finished_at.is_none(), s.started_at.clone()));
    let rolling_back = steps.iter().any(|s| s.name.starts_with("undo-"));
    match run.status {
        RunStatus::Succeeded => format!("nothing: {} is installed", run.to),
        RunStatus::Failed if steps.iter().any(|s| s.name.starts_with("undo-") && s.error.is_some()) => {
            "the run was settled with `rollback --force`: the undo steps marked failed above were skipped, so check the server by hand (`upshift check`, docs/recovery.md)".into()
        }
        RunStatus::Failed => "nothing changed on the server; fix the error above and try again".into(),
        RunStatus::RolledBack => format!(
            "the server is back on {} with its data; fix the cause before trying again",
            run.from
        ),
        RunStatus::Running if orphans.is_some() => {
            let who: Vec<String> = orphans
                .unwrap_or_default()
                .iter()
                .map(|h| format!("pid {} (`{}`)", h.pid, h.command))
                .collect();
            let who = match who.is_empty() {
                true => "a process it started".to_string(),
                false => who.join(", "),
            };
            format!(
                "upshift (pid {}) died, but {who} still holds the instance lock: a command the run started outlived it. Wait for it to end (or stop it, if you know it hangs), then `upshift resume` or `upshift rollback`",
                run.pid
            )
        }
        RunStatus::Running if live => format!(
            "upshift (pid {}) is working on this run right now: wait for it, or watch `upshift status`",
            run.pid
        ),
        RunStatus::Running | RunStatus::NeedsOperator => {
            let at = last
                .map(|s| format!(" in step `{}`", s.name))
                .unwrap_or_default();
            if rolling_back {
                format!(
                    "the rollback stopped{at}: fix the cause shown above, then run `upshift rollback` to finish it"
                )
            } else {
                format!(
                    "the run stopped{at}: `upshift resume` carries it on (each step checks what is already done), `upshift rollback` undoes it (restores this run's database backup and switches back to {})",
                    run.from
                )
            }
        }
    }
}
