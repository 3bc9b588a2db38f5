//! The measurements as records (`name`, `upshift_ms`, `baseline_ms`,
//! `ratio` = upshift / baseline), the table printed at the end and
//! `results.json`.
//!
//! Every record is "upshift against a baseline" so that one table reads the
//! same way throughout: below 1 upshift is faster. The overhead records are
//! the one exception the table spells out: their baseline is upshift's own
//! window, so the ratio is the share of the window.

use crate::Result;
use std::path::Path;

/// One measurement.
#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    pub upshift_ms: u64,
    pub baseline_ms: u64,
    /// `upshift_ms / baseline_ms`.
    pub ratio: f64,
    /// What the baseline is, for the table.
    pub against: String,
}

impl Record {
    pub fn new(name: String, upshift_ms: u64, baseline_ms: u64, against: &str) -> Record {
        Record {
            name,
            upshift_ms,
            baseline_ms,
            ratio: upshift_ms as f64 / baseline_ms.max(1) as f64,
            against: against.to_string(),
        }
    }
}

/// The records as an aligned text table.
pub fn table(records: &[Record]) -> String {
    let width = records.iter().map(|r| r.name.len()).max().unwrap_or(4);
    let mut out = format!(
        "{:width$}  {:>10}  {:>11}  {:>7}  baseline\n",
        "name", "upshift ms", "baseline ms", "ratio"
    );
    for r in records {
        out.push_str(&format!(
            "{:width$}  {:>10}  {:>11}  {:>7.3}  {}\n",
            r.name, r.upshift_ms, r.baseline_ms, r.ratio, r.against
        ));
    }
    out
}

/// Writes the records as a JSON array of `{name, upshift_ms, baseline_ms, ratio}`.
pub fn write_json(path: &Path, records: &[Record]) -> Result<()> {
    let array: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name,
                "upshift_ms": r.upshift_ms,
                "baseline_ms": r.baseline_ms,
                "ratio": (r.ratio * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&array)? + "\n")?;
    Ok(())
}

/// The record named `name`.
pub fn find<'a>(records: &'a [Record], name: &str) -> Option<&'a Record> {
    records.iter().find(|r| r.name == name)
}
