//! `upshift status`: the instance now, and the last run: where it stopped
//! and what to do next.

use crate::output::{self, ms};
use serde_json::json;
use upshift::instance::Instance;
use upshift::state::{RunRecord, RunStatus, StepRecord};
use upshift::Result;

pub fn run(inst: &Instance, json: bool) -> Result<i32> {
    let state = inst.state()?;
    let version = inst.install.current()?.map(|v| v.to_string());
    let running = inst.service.is_running()?;
    let maintenance = inst.maintenance.status().ok().flatten();
    let last = state.runs(1)?.into_iter().next();
    let steps = match &last {
        Some(run) => state.steps(&run.id)?,
        None => Vec::new(),
    };
    let advice = last.as_ref().map(|run| advice(run, &steps));
    if json {
        output::json_line(&json!({
            "type": "status",
            "instance": inst.name(),
            "version": version,
            "service_running": running,
            "maintenance": maintenance,
            "last_run": last,
            "steps": steps,
            "advice": advice,
        }));
        return Ok(0);
    }
    println!("instance:    {}", inst.name());
    println!(
        "version:     {}",
        version.as_deref().unwrap_or("(none: no current link)")
    );
    println!(
        "service:     {} ({})",
        if running { "running" } else { "stopped" },
        inst.service.describe()
    );
    println!(
        "maintenance: {}",
        match maintenance {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        }
    );
    let Some(run) = last else {
        println!("last run:    none");
        return Ok(0);
    };
    println!(
        "last run:    {} {} -> {}: {}",
        run.id,
        run.from,
        run.to,
        run.status.as_str()
    );
    for step in &steps {
        println!(
            "  {:>2} {:<16} {:<8} {:>9}  {}",
            step.seq + 1,
            step.name,
            format!("{:?}", step.status).to_lowercase(),
            step.ms.map(ms).unwrap_or_default(),
            step.error.as_deref().unwrap_or("")
        );
    }
    if let Some(advice) = advice {
        println!("next:        {advice}");
    }
    Ok(0)
}

/// What the operator should do about the last run.
fn advice(run: &RunRecord, steps: &[StepRecord]) -> String {
    let stopped_at = steps
        .iter()
        .rev()
        .find(|s| s.finished_at.is_none() || s.error.is_some());
    match run.status {
        RunStatus::Succeeded => format!("nothing: {} is installed", run.to),
        RunStatus::Failed => "nothing changed on the server; fix the error above and upgrade again".into(),
        RunStatus::RolledBack => format!("the server is back on {}; fix the cause before trying again", run.from),
        RunStatus::Running | RunStatus::NeedsOperator => match stopped_at {
            Some(step) => format!(
                "the run stopped in step `{}` inside the maintenance window. The database backup of this run is in the catalog (`upshift backups list`). Restore it and switch back to {}, or finish the remaining steps by hand",
                step.name, run.from
            ),
            None => "the run was interrupted between steps; the journal above shows the last one finished".into(),
        },
    }
}
