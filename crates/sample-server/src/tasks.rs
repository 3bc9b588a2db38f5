//! The task queue: rows in `tasks`, run one at a time in id order by a worker
//! thread with its own connection (`queued` -> `executing` -> `done`, sleeping
//! `duration_ms`), so a queue really drains while the API keeps answering.
//!
//! The API wakes the worker through a channel after each insert; otherwise it
//! looks again every second. Tasks left `executing` by a killed process are
//! queued again at start, as a real server would retry them.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::db::{Db, Source};

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
pub fn enqueue(db: &mut Db, duration_ms: u64) -> Result<i64> {
    let now = db.dialect().now;
    db.query_one(
        &format!("INSERT INTO tasks(state, duration_ms, created_at) VALUES ('queued', ?1, {now}) RETURNING id"),
        &[i64::try_from(duration_ms)?.into()],
    )
}

/// Counts queued and executing tasks.
pub fn summary(db: &mut Db) -> Result<Summary> {
    let row = db
        .query_opt(
            "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'executing') FROM tasks",
            &[],
        )?
        .ok_or_else(|| anyhow::anyhow!("counting tasks returned no row"))?;
    let (queued, executing): (u64, u64) = (row.get(0)?, row.get(1)?);
    Ok(Summary {
        queued,
        executing,
        running: queued + executing,
    })
}

/// Queues again the tasks a previous process left `executing`.
pub fn requeue_interrupted(db: &mut Db) -> Result<u64> {
    db.execute(
        "UPDATE tasks SET state = 'queued' WHERE state = 'executing'",
        &[],
    )
}

/// Starts the worker on its own connection to `source`; send `()` on the
/// returned channel to wake it after enqueueing. Dropping the sender stops it.
pub fn start_worker(source: &Source) -> Result<Sender<()>> {
    let mut db = Db::open(source)?;
    let (wake, woken) = mpsc::channel();
    std::thread::Builder::new()
        .name("task-worker".into())
        .spawn(move || work(&mut db, &woken))?;
    Ok(wake)
}

fn work(db: &mut Db, woken: &Receiver<()>) {
    loop {
        match run_next(db) {
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
fn run_next(db: &mut Db) -> Result<bool> {
    let Some(claimed) = db.query_opt(
        "UPDATE tasks SET state = 'executing'
         WHERE id = (SELECT min(id) FROM tasks WHERE state = 'queued')
         RETURNING id, duration_ms",
        &[],
    )?
    else {
        return Ok(false);
    };
    let (id, duration_ms): (i64, u64) = (claimed.get(0)?, claimed.get(1)?);
    std::thread::sleep(Duration::from_millis(duration_ms));
    let now = db.dialect().now;
    db.execute(
        &format!("UPDATE tasks SET state = 'done', finished_at = {now} WHERE id = ?1"),
        &[id.into()],
    )?;
    Ok(true)
}
