//! `upshift check`: run the instance's checks against the running server,
//! and on a cluster every node's own checks, named `<node>: <check>`.

use crate::output;
use crate::output::outln;
use upshift::engine::checks;
use upshift::engine::instance::Instance;
use upshift::operations::output::{Checks, Output};
use upshift::Result;

pub fn run(inst: &Instance, json: bool) -> Result<i32> {
    let outcomes = checks::of_instance(inst)?;
    let ok = outcomes.iter().all(|o| o.ok);
    if json {
        output::json_line(&Output::Checks(Checks {
            ok,
            checks: outcomes,
        }));
    } else {
        for o in &outcomes {
            outln!(
                "{} {:<40} {}",
                if o.ok { "ok  " } else { "FAIL" },
                o.name,
                o.detail
            );
        }
    }
    Ok(if ok { 0 } else { 1 })
}
