//! `upshift status`: the instance now, and the last run: where it stopped
//! and what to do next.

use crate::output::outln;
use crate::output::{self, ms};
use serde::Serialize;
use serde_json::json;
use upshift::engine::instance::Instance;
use upshift::engine::state::{RunRecord, RunStatus, StepRecord};
use upshift::{ErrorKind, Result};

pub fn run(inst: &Instance, json: bool) -> Result<i32> {
    let state = inst.state()?;
    let nodes = nodes(inst);
    let maintenance = inst.maintenance.status().ok().flatten();
    let last = state.runs(1)?.into_iter().next();
    let steps = match &last {
        Some(run) => state.steps(&run.id)?,
        None => Vec::new(),
    };
    // A live upshift holds the lock; a run marked running without one died.
    // Only this state folder's lock: the database's is another operator's
    // business, and probing it could turn their starting run away.
    let probe = upshift::support::lock::Lock::acquire(&inst.state_dir, "status");
    let live = matches!(probe, Err(e) if e.kind() == ErrorKind::Busy);
    let advice = last.as_ref().map(|run| advice(run, &steps, live));
    if json {
        let first = nodes.first();
        output::json_line(&json!({
            "type": "status",
            "instance": inst.name(),
            "version": first.and_then(|n| n.version.clone()),
            "service_running": first.and_then(|n| n.running),
            "nodes": nodes,
            "maintenance": maintenance,
            "last_run": last,
            "steps": steps,
            "advice": advice,
            "run_in_progress": live,
        }));
        return Ok(0);
    }
    outln!("instance:    {}", inst.name());
    for node in &nodes {
        let label = match inst.is_cluster() {
            true => format!("{}:", node.name),
            false => "version:".into(),
        };
        outln!(
            "{label:<12} {}, {} ({})",
            node.version.as_deref().unwrap_or("(no current version)"),
            match node.running {
                Some(true) => "running",
                Some(false) => "stopped",
                None => "unknown",
            },
            node.service
        );
        if let Some(error) = &node.error {
            outln!("{:12} {error}", "");
        }
    }
    outln!(
        "maintenance: {}",
        match maintenance {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        }
    );
    let Some(run) = last else {
        outln!("last run:    none");
        return Ok(0);
    };
    outln!(
        "last run:    {} {} -> {}: {}",
        run.id,
        run.from,
        run.to,
        run.status.as_str()
    );
    for step in &steps {
        outln!(
            "  {:>2} {:<16} {:<8} {:>9}  {}",
            step.seq + 1,
            step.name,
            format!("{:?}", step.status).to_lowercase(),
            step.ms.map(ms).unwrap_or_default(),
            step.error.as_deref().unwrap_or("")
        );
    }
    if let Some(advice) = advice {
        outln!("next:        {advice}");
    }
    Ok(0)
}

/// One node as `status` shows it.
#[derive(Debug, Serialize)]
struct NodeStatus {
    name: String,
    location: String,
    service: String,
    version: Option<String>,
    running: Option<bool>,
    /// Why the node could not be asked (unreachable, say).
    error: Option<String>,
}

/// Every node's version and state, asked in parallel.
fn nodes(inst: &Instance) -> Vec<NodeStatus> {
    let asked = upshift::drivers::node::each(&inst.all_nodes(), |node| {
        Ok((node.current()?, node.is_running()?))
    });
    inst.nodes
        .iter()
        .zip(asked)
        .map(|(node, asked)| {
            let (version, running, error) = match asked.result {
                Ok((version, running)) => (version.map(|v| v.to_string()), Some(running), None),
                Err(e) => (None, None, Some(e.chain())),
            };
            NodeStatus {
                name: node.name().to_string(),
                location: node.describe(),
                service: node.describe_service(),
                version,
                running,
                error,
            }
        })
        .collect()
}

/// What the operator should do about the last run.
fn advice(run: &RunRecord, steps: &[StepRecord], live: bool) -> String {
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
