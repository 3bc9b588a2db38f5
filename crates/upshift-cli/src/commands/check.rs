//! `upshift check`: run the instance's checks against the running server,
//! and on a cluster every node's own checks, named `<node>: <check>`.

use crate::output;
use serde_json::json;
use upshift::checks::{self, CheckContext};
use upshift::instance::Instance;
use upshift::Result;

pub fn run(inst: &Instance, json: bool) -> Result<i32> {
    let current = inst.current_version()?;
    let vars = inst.vars(None, &current);
    let ctx = CheckContext {
        client: &inst.client,
        instance_dir: &inst.loaded.dir,
        vars: &vars,
        db: inst.db.as_ref(),
        expect_version: Some(&current),
    };
    let mut outcomes = checks::run_all(&inst.loaded.file.checks, &ctx);
    if inst.is_cluster() {
        let per_node = upshift::node::each(&inst.all_nodes(), |node| {
            checks::of_node(inst, node, &vars, &current)
        });
        for node in per_node {
            let found = node.result.unwrap_or_else(|e| {
                vec![checks::CheckOutcome {
                    name: "reachable".into(),
                    ok: false,
                    detail: e.chain(),
                    ms: node.ms,
                }]
            });
            outcomes.extend(found.into_iter().map(|o| checks::CheckOutcome {
                name: format!("{}: {}", node.node, o.name),
                ..o
            }));
        }
    }
    let ok = outcomes.iter().all(|o| o.ok);
    if json {
        output::json_line(&json!({ "type": "checks", "ok": ok, "checks": outcomes }));
    } else {
        for o in &outcomes {
            println!(
                "{} {:<40} {}",
                if o.ok { "ok  " } else { "FAIL" },
                o.name,
                o.detail
            );
        }
    }
    Ok(if ok { 0 } else { 1 })
}
