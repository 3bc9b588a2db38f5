//! Migrate: run the new version's schema upgrade command, once, on the
//! first node, and only once every node is proven stopped: a node still
//! running against a database being upgraded is how clusters get corrupted.

use super::def::{Step, Undo, Words};
use crate::config::MigrationConfig;
use crate::drivers::node::Node;
use crate::engine::run::nodes::{ask_nodes, on_nodes};
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};

/// Undone with the backup: restoring it puts the old schema back.
pub const MIGRATE: Step = Step {
    kind: StepKind::Migrate,
    in_window: true,
    words: Words::Same("upgrade the database schema, once, with every node stopped"),
    apply,
    undo: Undo::With(StepKind::BackupDb),
};

fn apply(ctx: &mut Ctx) -> Result<Done> {
    let MigrationConfig::Command { run, timeout } = &ctx.inst.loaded.file.migration else {
        return Ok(Done::skipped("the server migrates itself on start"));
    };
    refuse_if_any_runs(ctx, &ctx.inst.all_nodes())?;
    let primary = ctx.inst.primary();
    let (from, to) = (ctx.leaving().clone(), ctx.bringing().clone());
    on_nodes(ctx, &[primary], |node| {
        node.run(run, &from, &to, *timeout, "migration")
    })?;
    let argv = primary.render(run, &from, &to);
    Ok(Done::detail(format!(
        "`{}` succeeded on {}",
        argv[0],
        primary.name()
    )))
}

/// On a cluster, refuses to go on while any of `nodes` runs: the database
/// is about to be upgraded. Only asked, so not reported as each node's
/// part of the step: the migration runs on the first node alone.
pub fn refuse_if_any_runs(ctx: &Ctx, nodes: &[&dyn Node]) -> Result<()> {
    if !ctx.inst.is_cluster() {
        return Ok(());
    }
    let running = ask_nodes(nodes, |node| node.is_running())?;
    let names: Vec<&str> = nodes
        .iter()
        .zip(&running)
        .filter(|(_, r)| **r)
        .map(|(n, _)| n.name())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "refusing to upgrade the database: {} still running",
        names.join(", ")
    ))
    .hint("every node must be stopped while the database is upgraded; something restarted it (a watchdog?)"))
}
