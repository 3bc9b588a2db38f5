//! The task queue: rows in `tasks`, run one at a time in id order by a worker
//! thread with its own connection (`queued` -> `executing` -> `done`, sleeping
//! `duration_ms`), so a queue really drains while the API keeps answering.
//!
//! The API wakes the worker through a channel after each insert; otherwise it
//! looks again every second. Tasks left `executing` by a killed process are
//! queued again at start, as a real server would retry them.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::db;

/// Counts shown by `GET /api/tasks/summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    /// Waiting tasks.
    pub queued: u64,
    /// The task being run (0 or 1).
    pub executing: u64,
    /// `queued + executing`: 0 means the queue has drained.
    pub running: u64,
}

/// Adds a task; returns its id.
pub fn enqueue(conn: &Connection, duration_ms: u64) -> Result<i64> {
    conn.execute(
        "INSERT INTO tasks(state, duration_ms, created_at) VALUES ('queued', ?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        [duration_ms],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Counts queued and executing tasks.
pub fn summary(conn: &Connection) -> Result<Summary> {
    let (queued, executing): (u64, u64) = conn.query_row(
        "SELECT coalesce(sum(state = 'queued'), 0), coalesce(sum(state = 'executing'), 0) FROM tasks",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Summary {
        queued,
        executing,
        running: queued + executing,
    })
}

/// Queues again the tasks a previous process left `executing`.
pub fn requeue_interrupted(conn: &Connection) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE tasks SET state = 'queued' WHERE state = 'executing'",
        [],
    )?)
}

/// Starts the worker on `database`; send `()` on the returned channel to wake
/// it after enqueueing. Dropping the sender stops it.
pub fn start_worker(database: PathBuf) -> Result<Sender<()>> {
    let conn = db::open(&database)?;
    let (wake, woken) = mpsc::channel();
    std::thread::Builder::new()
        .name("task-worker".into())
        .spawn(move || work(&conn, &woken))?;
    Ok(wake)
}

fn work(conn: &Connection, woken: &Receiver<()>) {
    loop {
        match run_next(conn) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => eprintln!("task worker: {e:#}"),
        }
        if let Err(RecvTimeoutError::Disconnected) = woken.recv_timeout(Duration::from_secs(1)) {
            return;
        }
    }
}

/// Runs the oldest queued task, if any; returns whether one ran.
fn run_next(conn: &Connection) -> Result<bool> {
    let claimed: Option<(i64, u64)> = conn
        .query_row(
            "UPDATE tasks SET state = 'executing'
             WHERE id = (SELECT min(id) FROM tasks WHERE state = 'queued')
             RETURNING id, duration_ms",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, duration_ms)) = claimed else {
        return Ok(false);
    };
    std::thread::sleep(Duration::from_millis(duration_ms));
    conn.execute(
        "UPDATE tasks SET state = 'done', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
        [id],
    )?;
    Ok(true)
}
