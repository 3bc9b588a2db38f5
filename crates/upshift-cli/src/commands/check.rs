//! `upshift check`: run the instance's checks against the running server.

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
    let outcomes = checks::run_all(&inst.loaded.file.checks, &ctx);
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
