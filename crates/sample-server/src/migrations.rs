//! The schema migrations compiled into every build; a release runs those up
//! to its manifest's `schema`.
//!
//! 1. The base tables, in one transaction.
//! 2. Deliberately NOT one transaction, like real non-transactional
//!    migrations: add `projects.slug`, backfill it in batches of 100 rows
//!    (each batch its own commit), create `audit`, record version 2. A
//!    failure in between leaves the database half-migrated, and running it
//!    again fails on the existing column: only a restore gets you back.
//! 3. An index on `projects.slug` (the 2027 major release).
//!
//! The `migration` break switch makes the release's own migration (the one
//! numbered like its `schema`) fail: migration 2 after the column is added
//! and about half the rows are backfilled (at least one batch committed);
//! migrations 1 and 3 inside their transaction, so nothing of them remains.

use anyhow::{bail, Result};
use rusqlite::{params, Connection};

use crate::data::schema_version;
use crate::error::SchemaError;

/// The highest migration any release knows.
pub const LATEST: u32 = 3;

/// Rows per backfill batch (and commit) in migration 2.
pub const BACKFILL_BATCH: i64 = 100;

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// Runs the migrations after the current schema up to `target`, calling
/// `applied` after each one; returns the versions applied.
///
/// Fails with [`SchemaError::Newer`] when the database is already past
/// `target`. `break_own` makes migration `target` fail (see the module doc).
pub fn run_pending(
    conn: &mut Connection,
    target: u32,
    break_own: bool,
    mut applied: impl FnMut(u32),
) -> Result<Vec<u32>> {
    anyhow::ensure!(
        target <= LATEST,
        "this build knows migrations up to {LATEST}, release wants {target}"
    );
    let current = schema_version(conn)?;
    if current > target {
        return Err(SchemaError::Newer {
            found: current,
            supported: target,
        }
        .into());
    }
    let mut done = Vec::new();
    for version in current + 1..=target {
        let fail = break_own && version == target;
        match version {
            1 => migration_1(conn, fail)?,
            2 => migration_2(conn, fail)?,
            3 => migration_3(conn, fail)?,
            _ => unreachable!("checked against LATEST"),
        }
        applied(version);
        done.push(version);
    }
    Ok(done)
}

fn record(conn: &Connection, version: u32) -> Result<()> {
    conn.execute(
        &format!("INSERT INTO schema_migrations(version, applied_at) VALUES (?1, {NOW})"),
        [version],
    )?;
    Ok(())
}

fn migration_1(conn: &mut Connection, fail: bool) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, applied_at TEXT);
         CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT);
         CREATE TABLE projects(id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload BLOB, created_at TEXT NOT NULL);
         CREATE TABLE secrets(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL);
         CREATE TABLE tasks(id INTEGER PRIMARY KEY, state TEXT NOT NULL, duration_ms INTEGER NOT NULL, created_at TEXT, finished_at TEXT);",
    )?;
    record(&tx, 1)?;
    if fail {
        bail!("migration 1 failed (break switch `migration`); rolled back");
    }
    tx.commit()?;
    Ok(())
}

fn migration_2(conn: &mut Connection, fail: bool) -> Result<()> {
    // Autocommit throughout: every statement below is its own transaction.
    conn.execute_batch("ALTER TABLE projects ADD COLUMN slug TEXT")?;
    let total: i64 = conn.query_row("SELECT count(*) FROM projects", [], |r| r.get(0))?;
    let mut filled = 0i64;
    let mut last_id = i64::MIN;
    loop {
        if fail && (total == 0 || filled * 2 >= total) {
            bail!(
                "migration 2 failed after backfilling {filled} of {total} slugs (break switch `migration`); the database is left half-migrated"
            );
        }
        let batch_end: Option<i64> = conn.query_row(
            "SELECT max(id) FROM (SELECT id FROM projects WHERE id > ?1 ORDER BY id LIMIT ?2)",
            params![last_id, BACKFILL_BATCH],
            |r| r.get(0),
        )?;
        let Some(batch_end) = batch_end else { break };
        let n = conn.execute(
            "UPDATE projects SET slug = lower(replace(name, ' ', '-')) WHERE id > ?1 AND id <= ?2",
            params![last_id, batch_end],
        )?;
        filled += i64::try_from(n)?;
        last_id = batch_end;
    }
    conn.execute_batch("CREATE TABLE audit(id INTEGER PRIMARY KEY, at TEXT, what TEXT)")?;
    record(conn, 2)
}

fn migration_3(conn: &mut Connection, fail: bool) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch("CREATE INDEX projects_slug ON projects(slug)")?;
    record(&tx, 3)?;
    if fail {
        bail!("migration 3 failed (break switch `migration`); rolled back");
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_projects(n: i64) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        run_pending(&mut conn, 1, false, |_| {}).unwrap();
        for i in 1..=n {
            conn.execute(
                "INSERT INTO projects(name, created_at) VALUES (?1, 'now')",
                [format!("Project {i}")],
            )
            .unwrap();
        }
        conn
    }

    #[test]
    fn migrates_up_and_refuses_to_go_down() {
        let mut conn = with_projects(250);
        assert_eq!(
            run_pending(&mut conn, 3, false, |_| {}).unwrap(),
            vec![2, 3]
        );
        let empty: i64 = conn
            .query_row(
                "SELECT count(*) FROM projects WHERE slug IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(empty, 0);
        let slug: String = conn
            .query_row("SELECT slug FROM projects WHERE id = 7", [], |r| r.get(0))
            .unwrap();
        assert_eq!(slug, "project-7");
        let err = run_pending(&mut conn, 2, false, |_| {}).unwrap_err();
        assert_eq!(err.downcast_ref::<SchemaError>().unwrap().exit_code(), 4);
    }

    #[test]
    fn broken_migration_2_stops_half_way() {
        let mut conn = with_projects(1000);
        assert!(run_pending(&mut conn, 2, true, |_| {}).is_err());
        assert_eq!(schema_version(&conn).unwrap(), 1);
        let filled: i64 = conn
            .query_row(
                "SELECT count(*) FROM projects WHERE slug IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!((BACKFILL_BATCH..1000).contains(&filled), "filled {filled}");
    }
}
