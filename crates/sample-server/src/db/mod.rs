//! The storage layer: one [`Db`] over SQLite or PostgreSQL, so migrations,
//! seeding, the HTTP handlers, the task worker and [`crate::data::Snapshot`]
//! are written once.
//!
//! Design: the SQL stays shared and the engines differ only where their
//! dialects do. Shared statements use SQLite's numbered placeholders (`?1`),
//! which the PostgreSQL module rewrites to `$1`; statements that both engines
//! accept (`ON CONFLICT ... DO UPDATE`, `RETURNING`, `count(*) FILTER`) are
//! preferred over engine-specific ones. What cannot be shared (column types
//! for ids and blobs, the current-time expression, catalog look-ups, the
//! database size, bulk loading) lives in [`sqlite`] and [`postgres`], behind
//! the methods of [`Db`] and the [`Dialect`] constants.
//!
//! Values cross the boundary as [`Value`] (integers are always `i64`; the
//! PostgreSQL schema uses `BIGINT` so no narrowing happens). Rows are read
//! whole into [`Row`]s: the sample server's queries return few rows, and the
//! one that returns many ([`crate::data::Snapshot`]) keeps them all anyway.

pub mod postgres;
pub mod sqlite;
mod value;

use std::path::PathBuf;

use anyhow::{Context, Result};

pub use self::postgres::PgTarget;
pub use value::{FromValue, Row, Value};

/// Where an instance keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A SQLite database file (created with its folder on first open).
    Sqlite(PathBuf),
    /// A PostgreSQL database (which must exist).
    Postgres(PgTarget),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Sqlite(path) => write!(f, "SQLite database {}", path.display()),
            Source::Postgres(target) => write!(f, "PostgreSQL database `{}`", target.conn()),
        }
    }
}

/// The parts of SQL that differ between the engines, spliced into shared
/// statements with `format!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// A plain integer column.
    pub int: &'static str,
    /// An auto-numbered integer primary key.
    pub id: &'static str,
    /// A byte-string column.
    pub blob: &'static str,
    /// An expression for the current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub now: &'static str,
}

/// An open connection to either engine.
pub enum Db {
    /// A SQLite connection.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL connection.
    Postgres(::postgres::Client),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Sqlite(_) => "Db::Sqlite",
            Db::Postgres(_) => "Db::Postgres",
        })
    }
}

impl Db {
    /// Opens `source` for reading and writing (a SQLite file is created).
    pub fn open(source: &Source) -> Result<Db> {
        match source {
            Source::Sqlite(path) => sqlite::open(path).map(Db::Sqlite),
            Source::Postgres(target) => postgres::connect(target, false).map(Db::Postgres),
        }
    }

    /// Opens an existing `source` read-only.
    pub fn open_read_only(source: &Source) -> Result<Db> {
        match source {
            Source::Sqlite(path) => {
                anyhow::ensure!(path.exists(), "no database at {}", path.display());
                sqlite::open_read_only(path).map(Db::Sqlite)
            }
            Source::Postgres(target) => postgres::connect(target, true).map(Db::Postgres),
        }
    }

    /// The engine's SQL dialect.
    pub fn dialect(&self) -> &'static Dialect {
        match self {
            Db::Sqlite(_) => &sqlite::DIALECT,
            Db::Postgres(_) => &postgres::DIALECT,
        }
    }

    /// Runs one statement; returns the rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            Db::Sqlite(conn) => sqlite::execute(conn, sql, params),
            Db::Postgres(client) => postgres::execute(client, sql, params),
        }
        .with_context(|| format!("running `{}`", first_line(sql)))
    }

    /// Runs a query; returns all its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        match self {
            Db::Sqlite(conn) => sqlite::query(conn, sql, params),
            Db::Postgres(client) => postgres::query(client, sql, params),
        }
        .with_context(|| format!("running `{}`", first_line(sql)))
    }

    /// Runs a query that returns at most one row.
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        let mut rows = self.query(sql, params)?.into_iter();
        let first = rows.next();
        anyhow::ensure!(
            rows.next().is_none(),
            "`{}` returned more than one row",
            first_line(sql)
        );
        Ok(first)
    }

    /// The first column of the one row a query returns.
    pub fn query_one<T: FromValue>(&mut self, sql: &str, params: &[Value]) -> Result<T> {
        self.query_opt(sql, params)?
            .with_context(|| format!("`{}` returned no row", first_line(sql)))?
            .get(0)
    }

    /// Runs several `;`-separated statements without parameters.
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        match self {
            Db::Sqlite(conn) => conn.execute_batch(sql).map_err(anyhow::Error::from),
            Db::Postgres(client) => client.batch_execute(sql).map_err(anyhow::Error::from),
        }
        .with_context(|| format!("running `{}`", first_line(sql)))
    }

    /// Runs `work` in one transaction: committed if it succeeds, rolled back
    /// (keeping `work`'s error) if it fails.
    pub fn transaction<T>(&mut self, work: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        self.batch("BEGIN")?;
        match work(self) {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                // The original error matters more than a failed rollback, and
                // a failed rollback ends the transaction on both engines.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Whether `table` exists (in the current schema, on PostgreSQL).
    pub fn table_exists(&mut self, table: &str) -> Result<bool> {
        let sql = match self {
            Db::Sqlite(_) => sqlite::TABLE_EXISTS,
            Db::Postgres(_) => postgres::TABLE_EXISTS,
        };
        Ok(self.query_one::<i64>(sql, &[table.into()])? > 0)
    }

    /// Whether `table` has a column named `column`.
    pub fn column_exists(&mut self, table: &str, column: &str) -> Result<bool> {
        let sql = match self {
            Db::Sqlite(_) => sqlite::COLUMN_EXISTS,
            Db::Postgres(_) => postgres::COLUMN_EXISTS,
        };
        Ok(self.query_one::<i64>(sql, &[table.into(), column.into()])? > 0)
    }

    /// The database's size in bytes: pages in use for SQLite (the file once
    /// checkpointed), `pg_database_size` for PostgreSQL.
    pub fn size_bytes(&mut self) -> Result<u64> {
        let sql = match self {
            Db::Sqlite(_) => sqlite::SIZE,
            Db::Postgres(_) => postgres::SIZE,
        };
        self.query_one(sql, &[])
    }

    /// Inserts `rows` into `columns` of `table` in one transaction, the
    /// fastest way each engine has (prepared inserts, binary `COPY`).
    pub fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: impl Iterator<Item = Vec<Value>>,
    ) -> Result<u64> {
        match self {
            Db::Sqlite(conn) => sqlite::bulk_insert(conn, table, columns, rows),
            Db::Postgres(client) => postgres::bulk_insert(client, table, columns, rows),
        }
        .with_context(|| format!("inserting into {table}"))
    }
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or_default()
}
