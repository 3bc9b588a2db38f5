//! Preflight: prove the upgrade can go ahead before anything changes.
//!
//! Database reachable, service running on the version the plan starts from,
//! room for the backup and the new release, and the server healthy now:
//! every check passes (HTTP, SQL, version, command, the instance's and each
//! node's, as the checks step runs them). upshift never starts by upgrading
//! a broken server: afterwards nobody could tell which version broke it, and
//! the rollback's own checks would fail on the old version too.
//! Every failure here is bad input: exit 2, nothing changed. A rollback run
//! skips the service and health conditions: the version it leaves may be
//! down or broken, which is why it is being rolled back.

use super::def::{Step, Undo, Words};
use crate::engine::backup;
use crate::engine::plan::model::RunKind;
use crate::engine::run::nodes::on_nodes;
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};

pub const PREFLIGHT: Step = Step {
    kind: StepKind::Preflight,
    in_window: false,
    words: Words::ByKind {
        upgrade: "check disk space, database, service and current health",
        rollback: "check disk space and database (the version left may be unhealthy)",
    },
    apply,
    undo: Undo::Nothing,
};

fn apply(ctx: &mut Ctx) -> Result<Done> {
    run(ctx).map_err(Error::into_input)
}

fn run(ctx: &mut Ctx) -> Result<Done> {
    let inst = ctx.inst;
    inst.db.ping()?;
    let notes = inst.db.preflight()?;
    // A rollback run goes back from a version that may be the problem: it
    // neither needs it running nor healthy.
    let rollback = ctx.plan.kind == RunKind::Rollback;
    let from = ctx.from.clone();
    let need = ctx
        .plan
        .release
        .as_ref()
        .and_then(|r| r.size)
        .map(|s| s.saturating_mul(4));
    on_nodes(ctx, &inst.all_nodes(), |node| {
        let current = node.current()?;
        if current.as_ref() != Some(&from) {
            return Err(Error::input(format!(
                "{} runs {}, the plan starts from {from}",
                node.describe(),
                current.map_or("no version".to_string(), |v| v.to_string())
            ))
            .hint("every node must run the same version; run `upshift plan` again"));
        }
        if !rollback && !node.is_running()? {
            return Err(Error::input(format!("the service is not running ({})", node.describe_service(Some(&from))))
                .hint("upshift upgrades a running, healthy server: start it and check it with `upshift check`"));
        }
        if let Some(need) = need {
            let free = node.free_space()?;
            if free < need {
                return Err(Error::input(format!(
                    "not enough disk space on {} to unpack the release ({free} bytes free, about {need} needed)",
                    node.describe()
                )));
            }
        }
        Ok(())
    })?;
    backup::check_space(inst)?;
    // Every check, of every kind and every node, as the checks step will
    // run them: one that fails now would fail the rollback's checks too.
    let health = match rollback {
        true => "health not checked (rollback)".to_string(),
        false => {
            super::checks::verify_before(ctx)
                .map_err(|e| {
                    Error::input(format!(
                        "the server is not healthy before the upgrade: {}",
                        e.chain()
                    ))
                    .hint("fix it first; `upshift check` runs the checks")
                })?
                .detail
        }
    };
    let mut detail = format!(
        "{from} running{}, database reachable, {health}, disk space ok",
        match inst.is_cluster() {
            true => format!(" on {} nodes", inst.nodes.len()),
            false => String::new(),
        },
    );
    for note in notes {
        detail.push_str("; ");
        detail.push_str(&note);
    }
    Ok(Done::detail(detail))
}
