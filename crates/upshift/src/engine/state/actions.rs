//! The operator actions journal: what an operator did to the instance
//! outside a run (`upshift service start`, say).
//!
//! Such an action changes the server while no run is in charge, often in
//! the middle of settling a broken one, so it is journaled like a step:
//! recorded as `started` before it acts and settled as `done` or `failed`
//! after, each its own committed write. A crash in between leaves it
//! `started`, which says exactly that: it may or may not have acted.
//! Details are built by callers from names and outcomes, never secrets.

use super::{now, State};
use crate::support::error::{Context, Result};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// One operator action.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub id: i64,
    /// What was asked, e.g. `service start`.
    pub action: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `started`, `done` or `failed`.
    pub outcome: String,
    /// What it did, or the error.
    pub detail: Option<String>,
    /// The upshift process that acted.
    pub pid: u32,
}

impl State {
    /// Journals that `action` starts now; returns its id for [`State::finish_action`].
    pub fn start_action(&self, action: &str) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO actions (action, started_at, outcome, pid) VALUES (?1, ?2, 'started', ?3)",
            params![action, now(), std::process::id()],
        )
        .context(|| self.fail(format_args!("journal the operator action `{action}`")))?;
        Ok(conn.last_insert_rowid())
    }

    /// Settles action `id` as `done` (`ok`) or `failed`, with what it did.
    pub fn finish_action(&self, id: i64, ok: bool, detail: &str) -> Result<()> {
        let outcome = if ok { "done" } else { "failed" };
        self.conn()
            .execute(
                "UPDATE actions SET finished_at = ?1, outcome = ?2, detail = ?3 WHERE id = ?4",
                params![now(), outcome, detail, id],
            )
            .context(|| self.fail(format_args!("settle operator action #{id}")))?;
        Ok(())
    }

    /// The last `limit` operator actions, newest first.
    pub fn actions(&self, limit: usize) -> Result<Vec<ActionRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT id, action, started_at, finished_at, outcome, detail, pid FROM actions \
                 ORDER BY id DESC LIMIT ?1",
            )
            .context(|| self.fail("read the operator actions"))?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(ActionRecord {
                    id: r.get(0)?,
                    action: r.get(1)?,
                    started_at: r.get(2)?,
                    finished_at: r.get(3)?,
                    outcome: r.get(4)?,
                    detail: r.get(5)?,
                    pid: r.get(6)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.context(|| self.fail("read the operator actions"))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::state::tests::fresh;

    #[test]
    fn an_action_is_journaled_before_and_settled_after() {
        let (_tmp, state) = fresh();
        let id = state.start_action("service start").unwrap();
        let started = &state.actions(10).unwrap()[0];
        assert_eq!(
            (started.outcome.as_str(), started.finished_at.is_none()),
            ("started", true)
        );
        state.finish_action(id, true, "started 1 node").unwrap();
        let again = state.start_action("service stop").unwrap();
        state.finish_action(again, false, "no").unwrap();
        let all = state.actions(10).unwrap();
        let seen: Vec<(&str, &str)> = all
            .iter()
            .map(|a| (a.action.as_str(), a.outcome.as_str()))
            .collect();
        assert_eq!(
            seen,
            [("service stop", "failed"), ("service start", "done")]
        );
        assert_eq!(all[1].detail.as_deref(), Some("started 1 node"));
        assert_eq!(all[1].pid, std::process::id());
    }
}
