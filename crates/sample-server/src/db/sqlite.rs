//! SQLite: opening the database the way the server always does, and the
//! SQLite side of [`super::Db`].
//!
//! WAL mode so the API stays readable while the task worker writes, a 5 s
//! busy timeout so two connections wait for each other instead of failing,
//! and `synchronous = NORMAL` (the usual WAL setting: a commit survives a
//! process crash, and commits are cheap enough for batched migrations).
//! Statements are prepared through rusqlite's statement cache, so the shared
//! SQL costs one parse per connection.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::Connection;

use super::{Dialect, Row, Value};

/// SQLite's column types; `INTEGER PRIMARY KEY` aliases the rowid.
pub const DIALECT: Dialect = Dialect {
    int: "INTEGER",
    id: "INTEGER PRIMARY KEY",
    blob: "BLOB",
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
};

pub(super) const TABLE_EXISTS: &str =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1";
pub(super) const COLUMN_EXISTS: &str = "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2";
pub(super) const SIZE: &str =
    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";

/// Opens (creating if needed, with its folder) the database at `path`.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating database folder {}", dir.display()))?;
    }
    let conn =
        Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    anyhow::ensure!(
        mode.eq_ignore_ascii_case("wal"),
        "database {} refused WAL mode (got {mode})",
        path.display()
    );
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Opens an existing database read-only (no file is created).
pub fn open_read_only(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening database {} read-only", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

pub(super) fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64> {
    let n = conn
        .prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(params))?;
    Ok(u64::try_from(n)?)
}

pub(super) fn query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns)
            .map(|i| value(row.get_ref(i)?))
            .collect::<Result<_>>()?;
        out.push(Row(values));
    }
    Ok(out)
}

fn value(v: rusqlite::types::ValueRef<'_>) -> Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(std::str::from_utf8(t)?.to_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Real(r) => anyhow::bail!("unexpected floating-point value {r}"),
    })
}

pub(super) fn bulk_insert(
    conn: &mut Connection,
    table: &str,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<u64> {
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {table}({}) VALUES ({})",
        columns.join(", "),
        placeholders.join(", ")
    );
    let tx = conn.transaction()?;
    let mut n = 0;
    {
        let mut stmt = tx.prepare_cached(&sql)?;
        for row in rows {
            n += u64::try_from(stmt.execute(rusqlite::params_from_iter(&row))?)?;
        }
    }
    tx.commit()?;
    Ok(n)
}
