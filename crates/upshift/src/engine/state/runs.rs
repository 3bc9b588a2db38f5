//! The journal: runs and their steps.
//!
//! A run is one execution of a plan; its steps are numbered by their place in
//! the plan (`seq`, from 0; an operator sees `seq + 1` everywhere: in the
//! run's progress, in `status` and in these errors). The engine calls [`State::step_started`] before a step
//! acts and [`State::step_finished`] or [`State::step_failed`] after; each
//! call is one committed write, so after a crash the last `started` step is
//! the one that was in flight. On resume a step may start again: its row is
//! reset and `attempts` counts the tries.
//!
//! A run's id is its UTC start time plus four random hex digits
//! (`20261126-113005-3fa2`): readable, sortable, and typed easily in
//! `rollback --run`. The run records the pid of the process that runs it, so
//! `status` can tell a live run from one whose process died.

use super::{json_column, now, State};
use crate::support::error::{Context, Error, Result};
use rand::Rng;
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

text_enum! {
    /// Where a run stands.
    pub enum RunStatus {
        /// In progress, or its process died (see [`RunRecord::pid`]).
        Running = "running",
        /// Upgraded and checked.
        Succeeded = "succeeded",
        /// Failed before anything needed undoing.
        Failed = "failed",
        /// Failed and undone: the instance is back on the old version.
        RolledBack = "rolled_back",
        /// Stopped where only an operator can decide what comes next.
        NeedsOperator = "needs_operator",
    }
}

text_enum! {
    /// Where a step stands.
    pub enum StepStatus {
        /// Recorded before acting; still in flight, or interrupted.
        Started = "started",
        /// Finished its work.
        Done = "done",
        /// Found its work already done, or had nothing to do.
        Skipped = "skipped",
        /// Failed; the error says why.
        Failed = "failed",
    }
}

/// One run as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// How long the maintenance window was open, once known.
    pub window_ms: Option<u64>,
    pub error: Option<String>,
    pub plan: serde_json::Value,
    /// The process that runs (or last ran) it.
    pub pid: u32,
}

/// One step of a run as journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub seq: usize,
    pub name: String,
    pub reversible: bool,
    pub status: StepStatus,
    /// How many times the step was started (more than 1 after a resume).
    pub attempts: u32,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub ms: Option<u64>,
    pub output: serde_json::Value,
    pub error: Option<String>,
}

const RUN_COLUMNS: &str =
    "id, kind, from_version, to_version, status, started_at, finished_at, window_ms, error, plan, pid";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        from: r.get(2)?,
        to: r.get(3)?,
        status: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
        window_ms: r.get(7)?,
        error: r.get(8)?,
        plan: json_column(r, 9)?,
        pid: r.get(10)?,
    })
}

fn step_from_row(r: &Row<'_>) -> rusqlite::Result<StepRecord> {
    Ok(StepRecord {
        seq: r.get(0)?,
        name: r.get(1)?,
        reversible: r.get(2)?,
        status: r.get(3)?,
        attempts: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
        ms: r.get(7)?,
        output: json_column(r, 8)?,
        error: r.get(9)?,
    })
}

/// A new run id from the current time: `YYYYMMDD-HHMMSS-xxxx`.
fn new_run_id() -> String {
    let stamp: String = now()
        .chars()
        .take("2026-11-26T11:30:05".len())
        .filter(char::is_ascii_digit)
        .collect();
    let (date, time) = stamp.split_at(8);
    format!("{date}-{time}-{:04x}", rand::thread_rng().gen::<u16>())
}

impl State {
    /// Journals a new run, status [`RunStatus::Running`], and returns its id.
    pub fn create_run(
        &self,
        kind: &str,
        from: &str,
        to: &str,
        plan: &serde_json::Value,
    ) -> Result<String> {
        let conn = self.conn();
        loop {
            let id = new_run_id();
            let inserted = conn
                .execute(
                    "INSERT OR IGNORE INTO runs (id, kind, from_version, to_version, status, \
                     started_at, plan, pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        id,
                        kind,
                        from,
                        to,
                        RunStatus::Running,
                        now(),
                        plan.to_string(),
                        std::process::id()
                    ],
                )
                .context(|| self.fail(format_args!("record a new {kind} run")))?;
            if inserted == 1 {
                return Ok(id);
            }
        }
    }

    /// Takes over an unfinished run in this process (for `resume`): status
    /// back to running, this pid, no end time or error.
    pub fn resume_run(&self, run_id: &str) -> Result<()> {
        self.update_run(
            run_id,
            "UPDATE runs SET status = ?2, pid = ?3, finished_at = NULL, error = NULL \
             WHERE id = ?1",
            params![run_id, RunStatus::Running, std::process::id()],
        )
    }

    /// Records the outcome of a run. `finished_at` is set unless the status
    /// is [`RunStatus::Running`].
    pub fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        window_ms: Option<u64>,
        error: Option<&str>,
    ) -> Result<()> {
        let finished_at = (status != RunStatus::Running).then(now);
        self.update_run(
            run_id,
            "UPDATE runs SET status = ?2, finished_at = ?3, window_ms = ?4, error = ?5 \
             WHERE id = ?1",
            params![run_id, status, finished_at, window_ms, error],
        )
    }

    /// Journals that upshift was aborted mid-run (a second signal), in one
    /// transaction: the steps in flight failed with `reason`, and the run
    /// waits for an operator, who can `resume` or `rollback` it.
    pub fn abort_run(&self, run_id: &str, reason: &str) -> Result<()> {
        let mut conn = self.conn();
        let at = now();
        let aborted = conn.transaction().and_then(|tx| {
            tx.execute(
                "UPDATE steps SET status = ?3, finished_at = ?4, error = ?5 \
                 WHERE run_id = ?1 AND status = ?2",
                params![run_id, StepStatus::Started, StepStatus::Failed, at, reason],
            )?;
            tx.execute(
                "UPDATE runs SET status = ?2, finished_at = ?3, error = ?4 WHERE id = ?1",
                params![run_id, RunStatus::NeedsOperator, at, reason],
            )?;
            tx.commit()
        });
        aborted.context(|| self.fail(format_args!("record the abort of run {run_id}")))
    }

    fn update_run(&self, run_id: &str, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        let changed = self
            .conn()
            .execute(sql, params)
            .context(|| self.fail(format_args!("update run {run_id}")))?;
        if changed == 0 {
            return Err(no_run(run_id));
        }
        Ok(())
    }

    /// Journals that a step is about to act. Committed when this returns.
    pub fn step_started(
        &self,
        run_id: &str,
        seq: usize,
        name: &str,
        reversible: bool,
    ) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO steps (run_id, seq, name, reversible, status, attempts, started_at, \
                 output) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, 'null') \
                 ON CONFLICT (run_id, seq) DO UPDATE SET name = excluded.name, \
                 reversible = excluded.reversible, status = excluded.status, \
                 attempts = attempts + 1, started_at = excluded.started_at, \
                 finished_at = NULL, ms = NULL, output = 'null', error = NULL",
                params![run_id, seq, name, reversible, StepStatus::Started, now()],
            )
            .context(|| {
                self.fail(format_args!(
                    "record the start of step {} ({name}) of run {run_id}",
                    seq + 1
                ))
            })?;
        Ok(())
    }

    /// Journals that a step finished (`skipped`: it found nothing to do).
    pub fn step_finished(
        &self,
        run_id: &str,
        seq: usize,
        ms: u64,
        skipped: bool,
        output: &serde_json::Value,
    ) -> Result<()> {
        let status = if skipped {
            StepStatus::Skipped
        } else {
            StepStatus::Done
        };
        self.end_step(run_id, seq, status, ms, &output.to_string(), None)
    }

    /// Journals that a step failed, with its error message.
    pub fn step_failed(&self, run_id: &str, seq: usize, ms: u64, error: &str) -> Result<()> {
        self.end_step(run_id, seq, StepStatus::Failed, ms, "null", Some(error))
    }

    fn end_step(
        &self,
        run_id: &str,
        seq: usize,
        status: StepStatus,
        ms: u64,
        output: &str,
        error: Option<&str>,
    ) -> Result<()> {
        let changed = self
            .conn()
            .execute(
                "UPDATE steps SET status = ?3, finished_at = ?4, ms = ?5, output = ?6, error = ?7 \
                 WHERE run_id = ?1 AND seq = ?2",
                params![run_id, seq, status, now(), ms, output, error],
            )
            .context(|| {
                self.fail(format_args!(
                    "record the end of step {} of run {run_id}",
                    seq + 1
                ))
            })?;
        if changed == 0 {
            return Err(Error::failed(format!(
                "step {} of run {run_id} ended but was never journaled as started",
                seq + 1
            ))
            .hint("this is a bug in upshift: please report it with `upshift status --json`"));
        }
        Ok(())
    }

    /// One run, if it exists.
    pub fn run(&self, id: &str) -> Result<Option<RunRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                params![id],
                run_from_row,
            )
            .optional()
            .context(|| self.fail(format_args!("read run {id}")))
    }

    /// The last `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        self.query_runs(
            &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY rowid DESC LIMIT ?1"),
            params![limit],
        )
    }

    /// The newest run that is still running or waits for an operator.
    pub fn unfinished_run(&self) -> Result<Option<RunRecord>> {
        let found = self.query_runs(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE status IN (?1, ?2) \
                 ORDER BY rowid DESC LIMIT 1"
            ),
            params![RunStatus::Running, RunStatus::NeedsOperator],
        )?;
        Ok(found.into_iter().next())
    }

    fn query_runs(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).context(|| self.fail("read runs"))?;
        let rows = stmt
            .query_map(params, run_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.context(|| self.fail("read runs"))
    }

    /// The steps of a run, by seq.
    pub fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT seq, name, reversible, status, attempts, started_at, finished_at, ms, \
                 output, error FROM steps WHERE run_id = ?1 ORDER BY seq",
            )
            .context(|| self.fail(format_args!("read the steps of run {run_id}")))?;
        let rows = stmt
            .query_map(params![run_id], step_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.context(|| self.fail(format_args!("read the steps of run {run_id}")))
    }

    /// The median duration in ms of each step name, over the steps that did
    /// their work (not skipped) in runs that succeeded.
    pub fn step_estimates(&self) -> Result<BTreeMap<String, u64>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT s.name, s.ms FROM steps s JOIN runs r ON r.id = s.run_id \
                 WHERE r.status = ?1 AND s.status = ?2 AND s.ms IS NOT NULL",
            )
            .context(|| self.fail("read step durations"))?;
        let rows = stmt
            .query_map(params![RunStatus::Succeeded, StepStatus::Done], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .context(|| self.fail("read step durations"))?;
        let mut by_name: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (name, ms) in rows {
            by_name.entry(name).or_default().push(ms);
        }
        Ok(by_name
            .into_iter()
            .map(|(name, ms)| (name, median(ms)))
            .collect())
    }
}

/// The median of a non-empty list; the mean of the middle two for an even
/// count.
fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        values[mid - 1] + (values[mid] - values[mid - 1]) / 2
    }
}

fn no_run(run_id: &str) -> Error {
    Error::input(format!("no run {run_id} in the journal"))
        .hint("`upshift status` and `upshift history` show the runs there are")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::tests::fresh;
    use serde_json::json;

    #[test]
    fn an_aborted_run_waits_for_an_operator_with_its_step_in_flight_failed() {
        let (_tmp, state) = fresh();
        let id = state
            .create_run("upgrade", "1.0.0", "1.1.0", &json!({}))
            .unwrap();
        state.step_started(&id, 0, "stop", true).unwrap();
        state.step_finished(&id, 0, 5, false, &json!(null)).unwrap();
        state.step_started(&id, 1, "migrate", false).unwrap();
        state.abort_run(&id, "aborted by a second SIGINT").unwrap();

        let run = state.unfinished_run().unwrap().unwrap();
        assert_eq!(run.status, RunStatus::NeedsOperator);
        assert_eq!(run.error.as_deref(), Some("aborted by a second SIGINT"));
        let steps = state.steps(&id).unwrap();
        assert_eq!(steps[0].status, StepStatus::Done);
        assert_eq!(steps[1].status, StepStatus::Failed);
        assert_eq!(
            steps[1].error.as_deref(),
            Some("aborted by a second SIGINT")
        );
    }

    #[test]
    fn journal_round_trip() {
        let (_tmp, state) = fresh();
        let plan = json!({"steps": ["stop", "switch"]});
        let id = state
            .create_run("upgrade", "1.0.0", "1.1.0", &plan)
            .unwrap();
        assert_eq!(id.len(), "20261126-113005-3fa2".len(), "{id}");
        assert!(id[..8]
            .chars()
            .chain(id[9..15].chars())
            .all(|c| c.is_ascii_digit()));

        state.step_started(&id, 0, "stop", true).unwrap();
        state
            .step_finished(&id, 0, 120, false, &json!({"pid": 7}))
            .unwrap();
        state.step_started(&id, 1, "backup", false).unwrap();
        state.step_finished(&id, 1, 0, true, &json!(null)).unwrap();
        state.step_started(&id, 2, "switch", true).unwrap();
        state.step_failed(&id, 2, 30, "link busy").unwrap();
        state
            .finish_run(&id, RunStatus::RolledBack, Some(900), Some("link busy"))
            .unwrap();

        let run = state.run(&id).unwrap().unwrap();
        assert_eq!(
            (run.kind.as_str(), run.from.as_str(), run.to.as_str()),
            ("upgrade", "1.0.0", "1.1.0")
        );
        assert_eq!(run.status, RunStatus::RolledBack);
        assert_eq!(run.plan, plan);
        assert_eq!(run.window_ms, Some(900));
        assert_eq!(run.error.as_deref(), Some("link busy"));
        assert_eq!(run.pid, std::process::id());
        assert!(run.finished_at.as_ref().unwrap() >= &run.started_at);

        let steps = state.steps(&id).unwrap();
        let seen: Vec<_> = steps
            .iter()
            .map(|s| (s.seq, s.name.as_str(), s.status))
            .collect();
        assert_eq!(
            seen,
            [
                (0, "stop", StepStatus::Done),
                (1, "backup", StepStatus::Skipped),
                (2, "switch", StepStatus::Failed)
            ]
        );
        assert_eq!(steps[0].output, json!({"pid": 7}));
        assert_eq!(steps[0].ms, Some(120));
        assert!(steps[0].reversible && !steps[1].reversible);
        assert_eq!(steps[2].error.as_deref(), Some("link busy"));
        assert_eq!(
            serde_json::to_value(&run).unwrap()["status"],
            json!("rolled_back")
        );
        assert!(state.run("20000101-000000-0000").unwrap().is_none());
    }

    #[test]
    fn started_step_is_committed_before_it_finishes() {
        let (_tmp, state) = fresh();
        let id = state.create_run("upgrade", "1", "2", &json!({})).unwrap();
        state.step_started(&id, 3, "migrate", false).unwrap();

        let other =
            rusqlite::Connection::open(state.dir().join(crate::engine::state::DB_FILE)).unwrap();
        let (name, status): (String, String) = other
            .query_row(
                "SELECT name, status FROM steps WHERE run_id = ?1 AND seq = 3",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((name.as_str(), status.as_str()), ("migrate", "started"));

        let reopened = State::open(state.dir()).unwrap();
        let steps = reopened.steps(&id).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].status, StepStatus::Started);
        assert_eq!(steps[0].finished_at, None);
    }

    #[test]
    fn restarted_step_is_reset_and_counted() {
        let (_tmp, state) = fresh();
        let id = state.create_run("upgrade", "1", "2", &json!({})).unwrap();
        state.step_started(&id, 0, "start", true).unwrap();
        state.step_failed(&id, 0, 5, "timeout").unwrap();
        state.step_started(&id, 0, "start", true).unwrap();
        let step = &state.steps(&id).unwrap()[0];
        assert_eq!((step.status, step.attempts), (StepStatus::Started, 2));
        assert_eq!((step.error.as_ref(), step.ms), (None, None));
    }

    #[test]
    fn ending_an_unstarted_step_or_unknown_run_fails() {
        let (_tmp, state) = fresh();
        let id = state.create_run("upgrade", "1", "2", &json!({})).unwrap();
        assert!(state.step_finished(&id, 4, 1, false, &json!(null)).is_err());
        assert!(state.step_started("nope", 0, "x", false).is_err());
        let err = state
            .finish_run("nope", RunStatus::Failed, None, None)
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
    }

    #[test]
    fn unfinished_run_and_listing() {
        let (_tmp, state) = fresh();
        assert!(state.unfinished_run().unwrap().is_none());
        let a = state.create_run("upgrade", "1", "2", &json!({})).unwrap();
        let b = state.create_run("upgrade", "2", "3", &json!({})).unwrap();
        let c = state.create_run("rollback", "3", "2", &json!({})).unwrap();
        state
            .finish_run(&a, RunStatus::NeedsOperator, None, Some("stuck"))
            .unwrap();
        state
            .finish_run(&b, RunStatus::Succeeded, Some(10), None)
            .unwrap();
        assert_eq!(state.unfinished_run().unwrap().unwrap().id, c);
        state
            .finish_run(&c, RunStatus::Failed, None, Some("x"))
            .unwrap();
        let waiting = state.unfinished_run().unwrap().unwrap();
        assert_eq!(
            (waiting.id.as_str(), waiting.status),
            (a.as_str(), RunStatus::NeedsOperator)
        );
        state.resume_run(&a).unwrap();
        let resumed = state.run(&a).unwrap().unwrap();
        assert_eq!(
            (resumed.status, resumed.error, resumed.finished_at),
            (RunStatus::Running, None, None)
        );

        let ids: Vec<_> = state.runs(10).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, [c.clone(), b, a]);
        assert_eq!(state.runs(1).unwrap()[0].id, c);
    }

    #[test]
    fn estimates_are_medians_over_succeeded_runs() {
        let (_tmp, state) = fresh();
        let journal = |status: RunStatus, stop_ms: u64, backup: Option<u64>| {
            let id = state.create_run("upgrade", "1", "2", &json!({})).unwrap();
            state.step_started(&id, 0, "stop", true).unwrap();
            state
                .step_finished(&id, 0, stop_ms, false, &json!(null))
                .unwrap();
            state.step_started(&id, 1, "backup", false).unwrap();
            match backup {
                Some(ms) => state
                    .step_finished(&id, 1, ms, false, &json!(null))
                    .unwrap(),
                None => state.step_finished(&id, 1, 1, true, &json!(null)).unwrap(),
            }
            state.finish_run(&id, status, None, None).unwrap();
        };
        journal(RunStatus::Succeeded, 10, Some(100));
        journal(RunStatus::Succeeded, 30, None);
        journal(RunStatus::Succeeded, 20, Some(400));
        journal(RunStatus::Failed, 9000, Some(9000));
        journal(RunStatus::Succeeded, 1000, Some(300));
        let estimates = state.step_estimates().unwrap();
        assert_eq!(estimates.len(), 2);
        assert_eq!(estimates["stop"], 25, "median of 10 20 30 1000");
        assert_eq!(
            estimates["backup"], 300,
            "median of 100 300 400; skipped and failed ignored"
        );
    }

    #[test]
    fn statuses_parse_back() {
        for s in [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::RolledBack,
            RunStatus::NeedsOperator,
        ] {
            assert_eq!(s.as_str().parse::<RunStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert!("done".parse::<RunStatus>().is_err());
    }
}
