//! `upshift service start|stop|status`: parses and renders; the library's
//! `operations::service` decides and acts.

use crate::cli::ServiceArgs;
use crate::output;
use crate::output::outln;
use upshift::engine::instance::Instance;
use upshift::operations::output::Output;
use upshift::operations::service;
use upshift::Result;

pub fn run(inst: &Instance, args: &ServiceArgs, json: bool) -> Result<i32> {
    let report = service::drive(inst, args.action.into())?;
    if json {
        output::json_line(&Output::Service(report));
        return Ok(0);
    }
    for node in &report.nodes {
        let state = match node.running {
            Some(true) => "running",
            Some(false) => "stopped",
            None => "unknown",
        };
        outln!("{}: {state} ({})", node.name, node.service);
        if let Some(error) = &node.error {
            outln!("  {error}");
        }
    }
    Ok(0)
}
