//! `upshift status`: the instance now, and the last run: where it stopped
//! and what to do next (decided by the engine's `status`).

use crate::output::outln;
use crate::output::{self, ms};
use upshift::engine::instance::Instance;
use upshift::engine::status;
use upshift::operations::output::Output;
use upshift::Result;

pub fn run(inst: &Instance, json: bool) -> Result<i32> {
    let status = status::of(inst)?;
    if json {
        output::json_line(&Output::Status(status));
        return Ok(0);
    }
    outln!("instance:    {}", status.instance);
    for node in &status.nodes {
        let label = match inst.is_cluster() {
            true => format!("{}:", node.name),
            false => "version:".into(),
        };
        outln!(
            "{label:<12} {}, {} ({})",
            node.version.as_deref().unwrap_or("(no current version)"),
            match node.running {
                Some(true) => "running",
                Some(false) => "stopped",
                None => "unknown",
            },
            node.service
        );
        if let Some(error) = &node.error {
            outln!("{:12} {error}", "");
        }
    }
    outln!(
        "maintenance: {}",
        match status.maintenance {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        }
    );
    let Some(run) = &status.last_run else {
        outln!("last run:    none");
        return Ok(0);
    };
    outln!(
        "last run:    {} {} -> {}: {}",
        run.id,
        run.from,
        run.to,
        run.status.as_str()
    );
    for step in &status.steps {
        outln!(
            "  {:>2} {:<16} {:<8} {:>9}  {}",
            step.seq + 1,
            step.name,
            format!("{:?}", step.status).to_lowercase(),
            step.ms.map(ms).unwrap_or_default(),
            step.error.as_deref().unwrap_or("")
        );
    }
    if let Some(advice) = &status.advice {
        outln!("next:        {advice}");
    }
    Ok(0)
}
