//! A step's work on several nodes at once, each node's part journaled.
//!
//! On a cluster every node's part of a step is a journal row of its own,
//! `<step>@<node>` (started before it acts, then finished or failed), so
//! after a crash or an unreachable node the journal, and `status`, say
//! which node is in which state: each node's row is finished as soon as
//! that node is, not when the slowest is. A single server's journal has no
//! such rows.

use super::report::NodeTiming;
use super::Ctx;
use crate::drivers::node::{self, Node};
use crate::support::error::{Error, ErrorKind, Result};

/// Runs `op` on `nodes` in parallel as part of the step now running, and
/// returns each node's result in order; fails naming every node that failed.
pub fn on_nodes<'n, T: Send>(
    ctx: &mut Ctx,
    nodes: &[&'n dyn Node],
    op: impl Fn(&'n dyn Node) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let journal = ctx.inst.is_cluster();
    let mut seqs = Vec::new();
    if journal {
        for node in nodes {
            let seq = ctx.next_seq;
            ctx.next_seq += 1;
            let name = format!("{}@{}", ctx.current_step, node.name());
            ctx.state.step_started(ctx.run_id, seq, &name, true)?;
            seqs.push(seq);
        }
    }
    let (state, run_id) = (ctx.state, ctx.run_id);
    let mut journal_error = None;
    let results = node::each_then(nodes, op, |i, done| {
        if !journal || journal_error.is_some() {
            return;
        }
        let written = match &done.result {
            Ok(_) => state.step_finished(run_id, seqs[i], done.ms, false, &serde_json::Value::Null),
            Err(e) => state.step_failed(run_id, seqs[i], done.ms, &e.chain()),
        };
        journal_error = written.err();
    });
    if let Some(error) = journal_error {
        return Err(error);
    }
    if journal {
        for done in &results {
            let (ok, detail) = match &done.result {
                Ok(_) => (true, "done".to_string()),
                Err(e) => (false, e.chain()),
            };
            // A step that asks a node twice (is it staged? then stage)
            // reports the node once, with both parts' time.
            match ctx.node_timings.iter_mut().find(|t| t.node == done.node) {
                Some(timing) => {
                    timing.ms += done.ms;
                    timing.ok &= ok;
                    timing.detail = detail;
                }
                None => ctx.node_timings.push(NodeTiming {
                    node: done.node.clone(),
                    ms: done.ms,
                    ok,
                    detail,
                }),
            }
        }
    }
    collect(results)
}

/// Asks `nodes` in parallel, outside the journal and the per-node timings:
/// for a look that changes nothing (is it running?), so that a node
/// merely asked is not reported as having done the step.
pub fn ask_nodes<'n, T: Send>(
    nodes: &[&'n dyn Node],
    op: impl Fn(&'n dyn Node) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    collect(node::each(nodes, op))
}

/// Each node's value in order; or one error naming every node that failed.
fn collect<T>(results: Vec<node::NodeResult<T>>) -> Result<Vec<T>> {
    let of = results.len();
    let mut values = Vec::new();
    let mut failures: Vec<(String, Error)> = Vec::new();
    for done in results {
        match done.result {
            Ok(value) => values.push(value),
            Err(e) => failures.push((done.node, e)),
        }
    }
    if failures.is_empty() {
        return Ok(values);
    }
    Err(combine(failures, of))
}

/// One error for the nodes that failed: unreachable if any node was.
fn combine(mut failures: Vec<(String, Error)>, of: usize) -> Error {
    if of == 1 {
        if let Some((_, error)) = failures.pop() {
            return error;
        }
    }
    let unreachable = failures
        .iter()
        .any(|(_, e)| e.kind() == ErrorKind::Unreachable);
    let hint = failures
        .iter()
        .find_map(|(_, e)| e.hint_text().map(str::to_string));
    let message = format!(
        "{} of {of} nodes failed: {}",
        failures.len(),
        failures
            .iter()
            .map(|(node, e)| format!("{node}: {}", e.chain()))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let error = match unreachable {
        true => Error::unreachable(message),
        false => Error::failed(message),
    };
    match hint {
        Some(hint) => error.hint(hint),
        None => error,
    }
}
