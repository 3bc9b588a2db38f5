//! The state database's schema and its forward migrations.
//!
//! `PRAGMA user_version` holds how many entries of [`MIGRATIONS`] have been
//! applied. Opening a database applies the missing ones in one `IMMEDIATE`
//! transaction together with the new version number, so a crash mid-way
//! leaves the old schema intact and two processes opening at once cannot both
//! migrate. Migrations are only ever appended, never edited: an existing
//! database has already run the old ones. A database newer than this upshift
//! is refused rather than misread.

use crate::support::error::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// Migration `i` takes the schema from version `i` to `i + 1`: 1 the
/// journal, catalog and history; 2 the operator actions; 3 consumed
/// snapshots in the catalog.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    from_version TEXT NOT NULL,
    to_version   TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    window_ms    INTEGER,
    error        TEXT,
    plan         TEXT NOT NULL,
    pid          INTEGER NOT NULL
);
CREATE INDEX runs_status ON runs (status);
CREATE TABLE steps (
    run_id      TEXT NOT NULL REFERENCES runs (id),
    seq         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    reversible  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    ms          INTEGER,
    output      TEXT NOT NULL,
    error       TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE backups (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    path          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    version       TEXT NOT NULL,
    run_id        TEXT REFERENCES runs (id),
    created_at    TEXT NOT NULL,
    fingerprint   TEXT,
    verified_at   TEXT,
    verified_ok   INTEGER,
    verify_detail TEXT
);
CREATE INDEX backups_kind ON backups (kind, id);
CREATE TABLE installs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL REFERENCES runs (id),
    from_version TEXT NOT NULL,
    to_version   TEXT NOT NULL,
    installed_at TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    pid         INTEGER NOT NULL
);
"#,
    r#"
ALTER TABLE backups ADD COLUMN consumed_at TEXT;
"#,
];

/// Brings the schema of `db` up to date.
pub(super) fn migrate(conn: &mut Connection, db: &Path) -> Result<()> {
    let fail = |e: rusqlite::Error| super::sqlite_error(db, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let current: usize = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(fail)?;
    if current > MIGRATIONS.len() {
        return Err(Error::failed(format!(
            "the state database {} has schema version {current}, newer than the {} this \
             upshift knows",
            db.display(),
            MIGRATIONS.len()
        ))
        .hint("use the upshift version that wrote it, or a newer one"));
    }
    if current == MIGRATIONS.len() {
        return Ok(());
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.execute_batch(sql).map_err(|e| {
            Error::failed(format!(
                "cannot migrate the state database {} to schema version {}",
                db.display(),
                version + 1
            ))
            .caused_by(e)
        })?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())
        .and_then(|_| tx.commit())
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::{State, DB_FILE};

    fn user_version(conn: &Connection) -> usize {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn reopening_is_idempotent_and_keeps_data() {
        let (tmp, state) = crate::engine::state::tests::fresh();
        let salt = state.salt().unwrap();
        let run = state
            .create_run("upgrade", "1.0.0", "1.1.0", &serde_json::json!({}))
            .unwrap();
        drop(state);
        for _ in 0..2 {
            let again = State::open(&tmp.path().join("state")).unwrap();
            assert_eq!(user_version(&again.conn()), MIGRATIONS.len());
            assert_eq!(again.salt().unwrap(), salt);
            assert!(again.run(&run).unwrap().is_some());
        }
    }

    #[test]
    fn newer_schema_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        drop(State::open(tmp.path()).unwrap());
        let conn = Connection::open(tmp.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        drop(conn);
        let err = State::open(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }
}
