//! The schema migrations compiled into every build; a release runs those up
//! to its manifest's `schema`. The same three run on SQLite and PostgreSQL:
//! the statements are shared, with the engine's column types and clock
//! spliced in from its [`crate::db::Dialect`].
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

use crate::data::schema_version;
use crate::db::Db;
use crate::error::SchemaError;

/// The highest migration any release knows.
pub const LATEST: u32 = 3;

/// Rows per backfill batch (and commit) in migration 2.
pub const BACKFILL_BATCH: i64 = 100;

/// Runs the migrations after the current schema up to `target`, calling
/// `applied` after each one; returns the versions applied.
///
/// Fails with [`SchemaError::Newer`] when the database is already past
/// `target`. `break_own` makes migration `target` fail (see the module doc).
pub fn run_pending(
    db: &mut Db,
    target: u32,
    break_own: bool,
    mut applied: impl FnMut(u32),
) -> Result<Vec<u32>> {
    anyhow::ensure!(
        target <= LATEST,
        "this build knows migrations up to {LATEST}, release wants {target}"
    );
    let current = schema_version(db)?;
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
            1 => migration_1(db, fail)?,
            2 => migration_2(db, fail)?,
            3 => migration_3(db, fail)?,
            _ => unreachable!("checked against LATEST"),
        }
        applied(version);
        done.push(version);
    }
    Ok(done)
}

fn record(db: &mut Db, version: u32) -> Result<()> {
    let now = db.dialect().now;
    db.execute(
        &format!("INSERT INTO schema_migrations(version, applied_at) VALUES (?1, {now})"),
        &[i64::from(version).into()],
    )?;
    Ok(())
}

fn migration_1(db: &mut Db, fail: bool) -> Result<()> {
    let d = db.dialect();
    let ddl = format!(
        "CREATE TABLE schema_migrations(version {int} PRIMARY KEY, applied_at TEXT);
         CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT);
         CREATE TABLE projects(id {id}, name TEXT NOT NULL, payload {blob}, created_at TEXT NOT NULL);
         CREATE TABLE secrets(id {id}, name TEXT UNIQUE NOT NULL, nonce {blob} NOT NULL, ciphertext {blob} NOT NULL);
         CREATE TABLE tasks(id {id}, state TEXT NOT NULL, duration_ms {int} NOT NULL, created_at TEXT, finished_at TEXT);",
        int = d.int,
        id = d.id,
        blob = d.blob,
    );
    db.transaction(|db| {
        db.batch(&ddl)?;
        record(db, 1)?;
        if fail {
            bail!("migration 1 failed (break switch `migration`); rolled back");
        }
        Ok(())
    })
}

fn migration_2(db: &mut Db, fail: bool) -> Result<()> {
    // Autocommit throughout: every statement below is its own transaction.
    db.batch("ALTER TABLE projects ADD COLUMN slug TEXT")?;
    let total: i64 = db.query_one("SELECT count(*) FROM projects", &[])?;
    let mut filled = 0i64;
    let mut last_id = i64::MIN;
    loop {
        if fail && (total == 0 || filled * 2 >= total) {
            bail!(
                "migration 2 failed after backfilling {filled} of {total} slugs (break switch `migration`); the database is left half-migrated"
            );
        }
        let batch_end: Option<i64> = db.query_one(
            "SELECT max(id) FROM (SELECT id FROM projects WHERE id > ?1 ORDER BY id LIMIT ?2) AS batch",
            &[last_id.into(), BACKFILL_BATCH.into()],
        )?;
        let Some(batch_end) = batch_end else { break };
        let n = db.execute(
            "UPDATE projects SET slug = lower(replace(name, ' ', '-')) WHERE id > ?1 AND id <= ?2",
            &[last_id.into(), batch_end.into()],
        )?;
        filled += i64::try_from(n)?;
        last_id = batch_end;
    }
    let id = db.dialect().id;
    db.batch(&format!("CREATE TABLE audit(id {id}, at TEXT, what TEXT)"))?;
    record(db, 2)
}

fn migration_3(db: &mut Db, fail: bool) -> Result<()> {
    db.transaction(|db| {
        db.batch("CREATE INDEX projects_slug ON projects(slug)")?;
        record(db, 3)?;
        if fail {
            bail!("migration 3 failed (break switch `migration`); rolled back");
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_projects(n: i64) -> Db {
        let mut db = Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        run_pending(&mut db, 1, false, |_| {}).unwrap();
        for i in 1..=n {
            db.execute(
                "INSERT INTO projects(name, created_at) VALUES (?1, 'now')",
                &[format!("Project {i}").into()],
            )
            .unwrap();
        }
        db
    }

    #[test]
    fn migrates_up_and_refuses_to_go_down() {
        let mut conn = with_projects(250);
        assert_eq!(
            run_pending(&mut conn, 3, false, |_| {}).unwrap(),
            vec![2, 3]
        );
        let empty: i64 = conn
            .query_one("SELECT count(*) FROM projects WHERE slug IS NULL", &[])
            .unwrap();
        assert_eq!(empty, 0);
        let slug: String = conn
            .query_one("SELECT slug FROM projects WHERE id = 7", &[])
            .unwrap();
        assert_eq!(slug, "project-7");
        let err = run_pending(&mut conn, 2, false, |_| {}).unwrap_err();
        assert_eq!(err.downcast_ref::<SchemaError>().unwrap().exit_code(), 4);
    }

    #[test]
    fn broken_migration_2_stops_half_way() {
        let mut conn = with_projects(1000);
        assert!(run_pending(&mut conn, 2, true, |_| {}).is_err());
        assert_eq!(schema_version(&mut conn).unwrap(), 1);
        let filled: i64 = conn
            .query_one("SELECT count(*) FROM projects WHERE slug IS NOT NULL", &[])
            .unwrap();
        assert!((BACKFILL_BATCH..1000).contains(&filled), "filled {filled}");
    }
}
