//! Running `upshift` itself, the release binary beside the benchmark, and
//! reading its `--json` output: the summary (every step's time as the
//! engine measured it, and `window_ms`) and the events' `at` timestamps.
//!
//! The maintenance window is taken from the events, from the first
//! in-window step's `step_started` to the last in-window step's
//! `step_finished` (millisecond timestamps), because the summary's
//! `window_ms` runs on to the end of the run: with `snapshot` it includes
//! the export after maintenance is off (see docs/BENCHMARKS.md).

use crate::Result;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One step of a run's summary.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub ms: u64,
    pub in_window: bool,
}

/// The summary line of `upshift upgrade --json`.
#[derive(Debug, Clone)]
pub struct Summary {
    pub outcome: String,
    /// Maintenance on to maintenance off, from the events.
    pub window_ms: u64,
    /// `window_ms` as the summary reports it.
    pub reported_window_ms: u64,
    pub steps: Vec<Step>,
}

impl Summary {
    /// Milliseconds of the step named `name` (0 if it did not run).
    pub fn ms(&self, name: &str) -> u64 {
        self.steps
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.ms)
            .sum()
    }

    /// The summed time of the forward steps inside the window.
    pub fn in_window_ms(&self) -> u64 {
        self.steps
            .iter()
            .filter(|s| s.in_window && !s.name.starts_with("undo-"))
            .map(|s| s.ms)
            .sum()
    }

    /// The summed time of the undo steps: the whole rollback.
    pub fn undo_ms(&self) -> u64 {
        self.steps
            .iter()
            .filter(|s| s.name.starts_with("undo-"))
            .map(|s| s.ms)
            .sum()
    }
}

/// The `upshift` binary beside this one (both built by `bench/run`).
pub fn locate() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("upshift");
    if !path.is_file() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release --workspace`",
            path.display()
        )
        .into());
    }
    Ok(path)
}

/// `upshift -c <instance file> upgrade --yes --json`; the summary, which
/// must have the `expected` outcome.
pub fn upgrade(upshift: &Path, instance_file: &Path, expected: &str) -> Result<Summary> {
    let out = Command::new(upshift)
        .arg("-c")
        .arg(instance_file)
        .args(["upgrade", "--yes", "--json"])
        .stdin(std::process::Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let summary = lines
        .iter()
        .find(|v| v["type"] == "summary")
        .ok_or_else(|| {
            format!(
                "upshift upgrade printed no summary ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let outcome = summary["outcome"].as_str().unwrap_or_default().to_string();
    if outcome != expected {
        return Err(format!(
            "upshift upgrade ended `{outcome}`, expected `{expected}`: {} ({})",
            summary["error"], summary["hint"]
        )
        .into());
    }
    let steps: Vec<Step> = summary["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| Step {
                    name: s["step"].as_str().unwrap_or_default().to_string(),
                    ms: s["ms"].as_u64().unwrap_or_default(),
                    in_window: s["in_window"].as_bool().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Summary {
        outcome,
        window_ms: window_from_events(&lines, &steps)?,
        reported_window_ms: summary["window_ms"].as_u64().unwrap_or_default(),
        steps,
    })
}

/// From the first in-window forward step's start to the last one's end.
fn window_from_events(lines: &[serde_json::Value], steps: &[Step]) -> Result<u64> {
    let in_window = |v: &serde_json::Value| {
        let name = v["step"].as_str().unwrap_or_default();
        !name.starts_with("undo-") && steps.iter().any(|s| s.in_window && s.name == name)
    };
    let at = |kind: &str| {
        lines
            .iter()
            .filter(|v| v["type"] == kind && in_window(v))
            .filter_map(|v| v["at"].as_str().and_then(day_ms))
            .collect::<Vec<u64>>()
    };
    let (starts, ends) = (at("step_started"), at("step_finished"));
    match (starts.first(), ends.last()) {
        // A run that crosses midnight: the end is on the next day.
        (Some(start), Some(end)) => Ok((end + DAY_MS - start) % DAY_MS),
        _ => Err("upshift printed no in-window step events".into()),
    }
}

const DAY_MS: u64 = 86_400_000;

/// Milliseconds since midnight of an RFC 3339 UTC timestamp with
/// milliseconds (`2026-11-26T11:37:45.123Z`).
fn day_ms(at: &str) -> Option<u64> {
    let time = at.split_once('T')?.1.trim_end_matches('Z');
    let (hms, millis) = time.split_once('.')?;
    let mut parts = hms.split(':').map(str::parse::<u64>);
    let (h, m, s) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    Some(((h * 60 + m) * 60 + s) * 1000 + millis.parse::<u64>().ok()?)
}

/// Runs `cmd` to success and returns how long it took.
pub fn timed(cmd: &mut Command) -> Result<Duration> {
    let started = Instant::now();
    let out = cmd.output()?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(took)
}
