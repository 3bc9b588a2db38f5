//! Checks over an instance: which checks of a node run from here (HTTP,
//! version, SQL, with the instance's client and database) and which on the
//! node itself (commands). Running one check is the driver's
//! (`drivers::checks`); choosing where and with what is the engine's.

use crate::config::CheckConfig;
use crate::drivers::checks::{self, CheckOutcome, Patience};
use crate::drivers::node::Node;
use crate::engine::instance::Instance;
use crate::support::error::Result;
use crate::support::template::Vars;
use crate::support::version::Version;

/// Runs the own checks of `node` expecting `version`: HTTP, version and SQL
/// checks from here, command checks on the node.
pub fn of_node(
    inst: &Instance,
    node: &dyn Node,
    vars: &Vars,
    version: &Version,
    patience: Patience,
) -> Result<Vec<CheckOutcome>> {
    let here: Vec<CheckConfig> = node
        .checks()
        .iter()
        .filter(|c| !matches!(c, CheckConfig::Command { .. }))
        .cloned()
        .collect();
    let mut outcomes = run_here(inst, vars, &here, version, patience);
    outcomes.extend(node.command_checks(version, inst.db.as_ref())?);
    Ok(outcomes)
}

/// Runs `checks` from this machine for `inst`, expecting `version`.
pub fn run_here(
    inst: &Instance,
    vars: &Vars,
    checks: &[CheckConfig],
    version: &Version,
    patience: Patience,
) -> Vec<CheckOutcome> {
    let ctx = checks::CheckContext {
        client: &inst.client,
        instance_dir: &inst.loaded.dir,
        vars,
        db: inst.db.as_ref(),
        expect_version: Some(version),
        patience,
    };
    checks::run_all(checks, &ctx)
}

/// Every check of the instance against the running version, as `upshift
/// check` runs them: the instance's own checks from here, then on a cluster
/// each node's own checks, named `<node>: <check>`; a node that cannot be
/// reached is one failed `reachable` check. The server should be up: a
/// refused connection fails a check at once.
pub fn of_instance(inst: &Instance) -> Result<Vec<CheckOutcome>> {
    let current = inst.current_version()?;
    let vars = inst.vars(None, &current);
    let patience = Patience::RefusedIsFinal;
    let mut outcomes = run_here(inst, &vars, &inst.loaded.file.checks, &current, patience);
    if inst.is_cluster() {
        let per_node = crate::drivers::node::each(&inst.all_nodes(), |node| {
            of_node(inst, node, &vars, &current, patience)
        });
        for node in per_node {
            let found = node.result.unwrap_or_else(|e| {
                vec![CheckOutcome {
                    name: "reachable".into(),
                    ok: false,
                    detail: e.chain(),
                    ms: node.ms,
                }]
            });
            outcomes.extend(found.into_iter().map(|o| CheckOutcome {
                name: format!("{}: {}", node.node, o.name),
                ..o
            }));
        }
    }
    Ok(outcomes)
}
