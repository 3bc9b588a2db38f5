//! `upshift plan`: what an upgrade would do. Changes nothing.

use crate::cli::Target;
use crate::output::{self, progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::engine::plan::{self, Request};
use upshift::Result;

pub fn run(inst: &Instance, target: &Target) -> Result<i32> {
    let state = inst.state()?;
    let plan = plan::make(inst, &state, &request(target)?, &Progress::new(target.json))?;
    if target.json {
        output::json_line(&report::plan_json(&plan));
    } else {
        report::plan(&plan);
    }
    Ok(0)
}

/// The plan request from `--to` and `--allow-major`.
pub fn request(target: &Target) -> Result<Request> {
    Ok(Request {
        to: target.to.as_deref().map(str::parse).transpose()?,
        allow_major: target.allow_major,
    })
}
