//! `upshift plan`: what an upgrade would do. Changes nothing.

use crate::cli::Target;
use crate::output::{self, progress::Progress, report};
use upshift::engine::instance::Instance;
use upshift::engine::plan::{self, Request};
use upshift::operations::output::Output;
use upshift::Result;

pub fn run(inst: &Instance, target: &Target, json: bool) -> Result<i32> {
    let state = inst.state()?;
    let plan = plan::make(inst, &state, &request(target)?, &Progress::new(json))?;
    if json {
        output::json_line(&Output::Plan(plan));
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
