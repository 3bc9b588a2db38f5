//! What only some database drivers can do, as traits a driver offers.
//!
//! Design decisions:
//! - A capability is asked for, not tried: [`Database::as_cloneable`] and
//!   [`Database::as_in_server`] say whether a driver has it, so a plan or a
//!   clone decides before anything changes (a refusal is an input error,
//!   exit 2), and no driver has methods that only say "cannot" at run time.
//! - Decisions that depend on the engine (how a clone's database is named,
//!   whether a clone's file names production's database, whether backups
//!   take local disk) live behind these methods, so no engine or operation
//!   file reads a driver's configuration.

use super::{BackupFile, Database};
use crate::config::DatabaseConfig;
use crate::support::error::{Error, Result};
use std::path::Path;

/// A database a clone can be made of: a new database beside it, restored
/// from its verified backup, which the clone then owns.
pub trait Cloneable {
    /// What `{db}` stands for in the clone named `name` made in `dir`
    /// (`instance_dir` is production's instance folder): a new SQLite file,
    /// a new PostgreSQL database. Refuses a name the engine cannot hold.
    fn clone_name(&self, instance_dir: &Path, dir: &Path, name: &str) -> Result<String>;
    /// Points the clone's `[database]` table at its database `db`, where
    /// the `[clone]` replacements do not (a database name, not a path).
    fn point_at(&self, database: &mut toml::Table, db: &str) {
        let _ = (database, db);
    }
    /// The instance-file field, if `other` names this very database there:
    /// a clone must never.
    fn same_database(&self, other: &DatabaseConfig) -> Option<&'static str>;
    /// The files the data lives in, with the instance-file field naming
    /// each: a clone's must all be in the clone's folder.
    fn files(&self) -> Vec<(&'static str, &Path)> {
        Vec::new()
    }
    /// Makes a new database `target` (a clone's: a new file, a new database
    /// in the same cluster) holding a verified backup of this one; this
    /// database is not touched, and `target` must not exist yet.
    fn restore_as_new(&self, backup: &Path, target: &DatabaseConfig) -> Result<()>;
    /// Runs SQL statements that return no rows (a clone's isolation).
    fn execute(&self, sql: &str) -> Result<()>;
    /// Deletes this whole database (a clone's teardown); gone already is fine.
    fn destroy(&self) -> Result<()>;
}

/// Backups kept inside the database server (a PostgreSQL snapshot): they
/// take no local disk, and are exported as a portable dump after the window.
pub trait InServerBackups {
    /// Turns `backup`, if it lives inside the server, into a portable,
    /// verified backup named `name` in `dir`; `None` when it is portable
    /// already.
    fn export(&self, backup: &Path, dir: &Path, name: &str) -> Result<Option<BackupFile>>;
}

/// `db` as a database a clone can be made of, or the input error saying
/// it cannot be.
pub fn cloneable(db: &dyn Database) -> Result<&dyn Cloneable> {
    db.as_cloneable().ok_or_else(|| {
        Error::input(format!(
            "{} cannot be cloned: upshift cannot make a new database from its backups",
            db.describe()
        ))
        .hint("clones and rehearsals need a SQLite or PostgreSQL database; nothing was made")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::path::FilePath;

    fn postgres(extra: &str) -> DatabaseConfig {
        #[derive(serde::Deserialize)]
        struct File {
            database: DatabaseConfig,
        }
        let text =
            format!("[database]\nkind = \"postgres\"\nuser = \"app\"\ndbname = \"appdb\"\n{extra}");
        toml::from_str::<File>(&text).unwrap().database
    }

    fn sqlite(path: &str) -> DatabaseConfig {
        DatabaseConfig::Sqlite {
            path: FilePath::from_path(path),
        }
    }

    #[test]
    fn a_sqlite_clone_is_a_file_in_the_clone_folder() {
        let db = super::super::open(&sqlite("/srv/app/data/app.db"), Path::new("/srv/app"));
        assert!(db.as_in_server().is_none());
        let clone = cloneable(db.as_ref()).unwrap();
        let name = clone
            .clone_name(Path::new("/srv/app"), Path::new("/c"), "t")
            .unwrap();
        assert_eq!(name, "/c/data/app.db");
        assert_eq!(
            clone.files(),
            [("database.path", Path::new("/srv/app/data/app.db"))]
        );
        assert_eq!(
            clone.same_database(&sqlite("/srv/app/data/app.db")),
            Some("database.path")
        );
        assert_eq!(clone.same_database(&sqlite("/c/data/app.db")), None);
    }

    #[test]
    fn a_postgres_clone_is_a_database_in_the_same_cluster() {
        let db = super::super::open(&postgres(""), Path::new("."));
        assert!(db.as_in_server().is_none(), "dump backups take local disk");
        let clone = cloneable(db.as_ref()).unwrap();
        let name = clone
            .clone_name(Path::new("."), Path::new("/c"), "re-1")
            .unwrap();
        assert_eq!(name, "appdb_re_1");
        let mut table = toml::Table::new();
        clone.point_at(&mut table, &name);
        assert_eq!(table["dbname"].as_str(), Some("appdb_re_1"));
        assert_eq!(clone.same_database(&postgres("")), Some("database.dbname"));
        assert_eq!(clone.same_database(&postgres("port = 5433")), None);
        let long = clone.clone_name(Path::new("."), Path::new("/c"), &"x".repeat(60));
        assert_eq!(long.unwrap_err().kind(), crate::ErrorKind::Input);

        let snapshots = super::super::open(&postgres("strategy = \"snapshot\""), Path::new("."));
        assert!(snapshots.as_in_server().is_some());
    }
}
