//! The install history: which version was installed when, by which run.
//!
//! Like Octopus Deploy's `OctopusServerInstallationHistory`, one row is added
//! each time a run leaves the instance on a different version (an upgrade
//! that succeeded, or a rollback), and rows are never changed. `rollback`
//! reads it to find the version to go back to, and `history` prints it.

use super::{now, State};
use crate::support::error::{Context, Result};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// One entry of the install history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub run_id: String,
    pub from: String,
    pub to: String,
    pub installed_at: String,
}

impl State {
    /// Records that run `run_id` moved the instance from `from` to `to`.
    pub fn record_install(&self, run_id: &str, from: &str, to: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO installs (run_id, from_version, to_version, installed_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![run_id, from, to, now()],
            )
            .context(|| self.fail(format_args!("record the install of {to} by run {run_id}")))?;
        Ok(())
    }

    /// Removes what `run_id` recorded (its run was rolled back).
    pub fn forget_install(&self, run_id: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM installs WHERE run_id = ?1", params![run_id])
            .context(|| self.fail(format_args!("remove the install of run {run_id}")))?;
        Ok(())
    }

    /// The install history, newest first.
    pub fn history(&self) -> Result<Vec<HistoryRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT run_id, from_version, to_version, installed_at FROM installs \
                 ORDER BY id DESC",
            )
            .context(|| self.fail("read the install history"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(HistoryRecord {
                    run_id: r.get(0)?,
                    from: r.get(1)?,
                    to: r.get(2)?,
                    installed_at: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.context(|| self.fail("read the install history"))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::state::tests::fresh;
    use serde_json::json;

    #[test]
    fn history_is_newest_first() {
        let (_tmp, state) = fresh();
        assert!(state.history().unwrap().is_empty());
        let up = state
            .create_run("upgrade", "1.0.0", "1.1.0", &json!({}))
            .unwrap();
        state.record_install(&up, "1.0.0", "1.1.0").unwrap();
        let back = state
            .create_run("rollback", "1.1.0", "1.0.0", &json!({}))
            .unwrap();
        state.record_install(&back, "1.1.0", "1.0.0").unwrap();
        let seen: Vec<_> = state
            .history()
            .unwrap()
            .into_iter()
            .map(|h| (h.run_id, h.from, h.to))
            .collect();
        assert_eq!(
            seen,
            [
                (back, "1.1.0".to_string(), "1.0.0".to_string()),
                (up, "1.0.0".to_string(), "1.1.0".to_string()),
            ]
        );
        assert!(state.record_install("no-such-run", "1", "2").is_err());
    }
}
