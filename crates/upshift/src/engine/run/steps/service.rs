//! Stopping the old version and starting the new one, and the reverse.
//!
//! On a cluster, `stop` stops every node at once and proves each is gone;
//! `start` starts the first node only (it has the migrated database) and
//! checks it before `join` switches and starts the others in parallel.

use super::def::{Step, Undo, Words};
use crate::config::MigrationConfig;
use crate::drivers::node::Node;
use crate::engine::plan::model::RunKind;
use crate::engine::run::nodes::on_nodes;
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::Result;

pub const STOP: Step = Step {
    kind: StepKind::Stop,
    in_window: true,
    words: Words::Same("stop the service (every node) and prove it is gone"),
    apply: stop,
    undo: Undo::Run(restart_old),
};

pub const START: Step = Step {
    kind: StepKind::Start,
    in_window: true,
    words: Words::ByKind {
        upgrade: "start the new version (on a cluster: the first node, and check it)",
        rollback: "start the earlier version (on a cluster: the first node, and check it)",
    },
    apply: start,
    undo: Undo::Run(stop),
};

/// What `start` does where the server migrates its schema as it starts
/// (`[migration] kind = "on-start"`): the plan then has no `migrate` step.
pub const START_MIGRATING: &str = "start the new version, which upgrades the database schema as it starts (on a cluster: the first node, and check it)";

pub const JOIN: Step = Step {
    kind: StepKind::Join,
    in_window: true,
    words: Words::Same("switch and start the other nodes, in parallel"),
    apply: join,
    undo: Undo::Run(leave),
};

/// `stop`, and the undo of `start`: every node stops (a node started by
/// hand included), so that the database changes under no one.
pub fn stop(ctx: &mut Ctx) -> Result<Done> {
    let nodes = ctx.inst.all_nodes();
    let stopped = stop_nodes(ctx, &nodes)?;
    if stopped == 0 {
        return Ok(Done::skipped("service already stopped"));
    }
    Ok(Done::detail(format!(
        "stopped {}",
        describe(ctx, &nodes, stopped)
    )))
}

/// Stops those of `nodes` that run; how many did.
fn stop_nodes(ctx: &mut Ctx, nodes: &[&dyn Node]) -> Result<usize> {
    let stopped = on_nodes(ctx, nodes, |node| {
        if !node.is_running()? {
            return Ok(false);
        }
        node.stop()?;
        Ok(true)
    })?;
    Ok(stopped.into_iter().filter(|s| *s).count())
}

fn start(ctx: &mut Ctx) -> Result<Done> {
    let primary = ctx.inst.primary();
    let to = ctx.bringing().clone();
    if matches!(ctx.inst.loaded.file.migration, MigrationConfig::OnStart)
        && ctx.plan.kind == RunKind::Upgrade
    {
        // The first node upgrades the database as it starts: the others
        // must be down, as for a migration command.
        let others: Vec<&dyn Node> = ctx.inst.all_nodes().split_off(1);
        super::migrate::refuse_if_any_runs(ctx, &others)?;
    }
    // Also when running (a resumed run): start then only waits for ready,
    // and runs the service's after_start hooks, which may not have run.
    let started = on_nodes(ctx, &[primary], |node| {
        let was_running = node.is_running()?;
        node.start(&to)?;
        Ok(!was_running)
    })?;
    let mut detail = match started[0] {
        true => format!("started {} on {to}", primary.describe_service(Some(&to))),
        false => "service already running".to_string(),
    };
    if ctx.inst.is_cluster() {
        let checked = super::checks::nodes(ctx, &[primary])?;
        detail.push_str(&format!("; {checked}"));
    } else if !started[0] {
        return Ok(Done::skipped(detail));
    }
    Ok(Done::detail(detail))
}

/// `join`: the other nodes switch to the new version and start, in parallel.
fn join(ctx: &mut Ctx) -> Result<Done> {
    let others: Vec<&dyn Node> = ctx.inst.all_nodes().split_off(1);
    let to = ctx.bringing().clone();
    on_nodes(ctx, &others, |node| {
        node.switch(&to)?;
        node.start(&to)
    })?;
    Ok(Done::detail(format!(
        "{} node(s) switched to {to} and started",
        others.len()
    )))
}

/// Undo of `join`: the other nodes stop and switch back.
fn leave(ctx: &mut Ctx) -> Result<Done> {
    let others: Vec<&dyn Node> = ctx.inst.all_nodes().split_off(1);
    let from = ctx.bringing().clone();
    on_nodes(ctx, &others, |node| {
        node.stop()?;
        node.switch(&from)
    })?;
    Ok(Done::detail(format!(
        "{} node(s) stopped and back on {from}",
        others.len()
    )))
}

/// Undo of `stop`: start the version `current` points at again on every
/// node (the old one, once `switch` is undone) and prove it works.
fn restart_old(ctx: &mut Ctx) -> Result<Done> {
    let nodes = ctx.inst.all_nodes();
    let from = ctx.bringing().clone();
    // Started and checked as the version undone to (see `Ctx::vars`). A
    // running service is only waited for (and its after_start hooks run).
    on_nodes(ctx, &nodes, |node| node.start(&from))?;
    let checked = super::checks::verify(ctx)?;
    Ok(Done::detail(format!(
        "{} running again; {}",
        from, checked.detail
    )))
}

/// "the service" on one server (its command rendered for the version
/// `current` links to), "N of M nodes" on a cluster.
fn describe(ctx: &Ctx, nodes: &[&dyn Node], count: usize) -> String {
    match ctx.inst.is_cluster() {
        true => format!("{count} of {} nodes", nodes.len()),
        false => {
            let running = nodes[0].current().ok().flatten();
            nodes[0].describe_service(running.as_ref())
        }
    }
}
