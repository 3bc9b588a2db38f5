//! `upshift history`: past upgrades, newest first, then what operators
//! did outside runs (`upshift service`).

use crate::output::outln;
use crate::output::{self, ms};
use upshift::engine::instance::Instance;
use upshift::operations::output::{History, Output};
use upshift::Result;

pub fn run(inst: &Instance, json: bool) -> Result<i32> {
    let state = inst.state()?;
    let installs = state.history()?;
    let runs = state.runs(50)?;
    let actions = state.actions(50)?;
    if json {
        output::json_line(&Output::History(History {
            installs,
            runs,
            actions,
        }));
        return Ok(0);
    }
    if runs.is_empty() {
        outln!("no runs yet");
    }
    for run in &runs {
        outln!(
            "{}  {} -> {}  {:<14} window {}  started {}",
            run.id,
            run.from,
            run.to,
            run.status.as_str(),
            run.window_ms.map(ms).unwrap_or_else(|| "-".into()),
            run.started_at
        );
    }
    Ok(0)
}
