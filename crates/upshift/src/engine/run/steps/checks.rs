//! Checks: the new version must prove it works before maintenance ends.
//!
//! The instance's `[[checks]]` run once, from here; each node's own checks
//! run for that node, all nodes at once: HTTP, version and SQL checks from
//! here, command checks on the node itself.

use super::def::{Step, Undo, Words};
use crate::drivers::checks::{CheckOutcome, Patience};
use crate::drivers::node::Node;
use crate::engine::checks;
use crate::engine::run::nodes::on_nodes;
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};
use crate::support::template::Vars;
use crate::support::version::Version;

pub const CHECKS: Step = Step {
    kind: StepKind::Checks,
    in_window: true,
    words: Words::ByKind {
        upgrade: "prove the new version works",
        rollback: "prove the earlier version works",
    },
    apply,
    undo: Undo::Nothing,
};

fn apply(ctx: &mut Ctx) -> Result<Done> {
    verify(ctx)
}

/// Runs every check, the instance's and every node's, expecting the
/// version the run brings now (the restored one while undoing), templated
/// for it.
pub fn verify(ctx: &mut Ctx) -> Result<Done> {
    let (version, vars) = (ctx.bringing().clone(), ctx.vars());
    verify_as(ctx, &version, &vars)
}

/// Runs every check expecting the version running before the run changed
/// anything (preflight), templated for it.
pub fn verify_before(ctx: &mut Ctx) -> Result<Done> {
    let (version, vars) = (ctx.from.clone(), ctx.vars_before());
    verify_as(ctx, &version, &vars)
}

fn verify_as(ctx: &mut Ctx, version: &Version, vars: &Vars) -> Result<Done> {
    let outcomes = checks::run_here(
        ctx.inst,
        vars,
        &ctx.inst.loaded.file.checks,
        version,
        Patience::UntilDeadline,
    );
    let mut detail = format!("{} check(s) pass", outcomes.len());
    fail_on(&outcomes, "")?;
    if ctx.inst.is_cluster() {
        let nodes = ctx.inst.all_nodes();
        detail.push_str(&format!("; {}", nodes_as(ctx, &nodes, version, vars)?));
    }
    Ok(Done::detail(detail))
}

/// Runs the own checks of `nodes`, in parallel, expecting the version the
/// run brings now.
pub fn nodes(ctx: &mut Ctx, nodes: &[&dyn Node]) -> Result<String> {
    let (version, vars) = (ctx.bringing().clone(), ctx.vars());
    nodes_as(ctx, nodes, &version, &vars)
}

fn nodes_as(ctx: &mut Ctx, nodes: &[&dyn Node], version: &Version, vars: &Vars) -> Result<String> {
    let inst = ctx.inst;
    let counts = on_nodes(ctx, nodes, |node| {
        let outcomes = checks::of_node(inst, node, vars, version, Patience::UntilDeadline)?;
        fail_on(&outcomes, &format!("{}: ", node.name()))?;
        Ok(outcomes.len())
    })?;
    Ok(format!(
        "{} node check(s) pass on {} node(s)",
        counts.iter().sum::<usize>(),
        nodes.len()
    ))
}

/// An error listing the failed outcomes, if any.
fn fail_on(outcomes: &[CheckOutcome], prefix: &str) -> Result<()> {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.ok)
        .map(|o| format!("{prefix}{}: {}", o.name, o.detail))
        .collect();
    match failed.is_empty() {
        true => Ok(()),
        false => Err(Error::failed(format!(
            "check(s) failed: {}",
            failed.join("; ")
        ))),
    }
}
