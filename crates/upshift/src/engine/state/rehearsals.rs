//! The latest rehearsal's figures, for `plan` to show beside each step.
//!
//! Only the latest one is kept, as one JSON value in the settings table
//! (key `latest_rehearsal`), so no schema change is needed; the full report
//! of every rehearsal stays in `<state_dir>/rehearsals/`. A value this
//! version cannot read is treated as absent: it only ever informs a plan.

use super::State;
use crate::support::error::{Context, Result};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const KEY: &str = "latest_rehearsal";

/// What a rehearsal predicts for production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RehearsalFigures {
    /// The rehearsal's id (its report's file name).
    pub id: String,
    /// When it finished (RFC 3339 UTC).
    pub at: String,
    pub from: String,
    pub to: String,
    /// How the rehearsed upgrade ended (`upgraded`, `rolled_back`, ...).
    pub outcome: String,
    /// Predicted production duration of each step that ran, by step name.
    pub steps: BTreeMap<String, u64>,
    /// Predicted production maintenance window.
    pub window_ms: Option<u64>,
}

impl State {
    /// Keeps `figures` as the latest rehearsal.
    pub fn record_rehearsal(&self, figures: &RehearsalFigures) -> Result<()> {
        let json = serde_json::to_vec(figures)
            .context(|| "cannot encode the rehearsal's figures".to_string())?;
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                params![KEY, json],
            )
            .context(|| self.fail("store the latest rehearsal"))?;
        Ok(())
    }

    /// The latest rehearsal's figures, if any.
    pub fn latest_rehearsal(&self) -> Result<Option<RehearsalFigures>> {
        let value: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![KEY],
                |r| r.get(0),
            )
            .optional()
            .context(|| self.fail("read the latest rehearsal"))?;
        Ok(value.and_then(|v| serde_json::from_slice(&v).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_rehearsal_replaces_the_one_before() {
        let (_tmp, state) = crate::engine::state::tests::fresh();
        assert_eq!(state.latest_rehearsal().unwrap(), None);
        let mut figures = RehearsalFigures {
            id: "r1".into(),
            at: crate::support::clock::now(),
            from: "1.0.0".into(),
            to: "1.1.0".into(),
            outcome: "upgraded".into(),
            steps: BTreeMap::from([("migrate".to_string(), 120)]),
            window_ms: Some(300),
        };
        state.record_rehearsal(&figures).unwrap();
        figures.id = "r2".into();
        state.record_rehearsal(&figures).unwrap();
        assert_eq!(state.latest_rehearsal().unwrap(), Some(figures));
    }
}
