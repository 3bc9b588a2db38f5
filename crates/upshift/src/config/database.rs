//! `[database]`, `[backups]` and `[migration]`.

use super::{CommandDbConfig, FilePath};
use crate::support::secret::SecretRef;
use serde::Deserialize;
use std::time::Duration;

/// The instance's database.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum DatabaseConfig {
    /// A SQLite file, backed up through SQLite's online backup API.
    Sqlite { path: FilePath },
    /// A PostgreSQL database: pg_dump/pg_restore, or an in-cluster snapshot.
    Postgres(PostgresConfig),
    /// Any other database, through the operator's own commands.
    Command(CommandDbConfig),
}

/// `[database] kind = "postgres"`: see `docs/postgres.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Host name, address, or a Unix socket folder (starts with `/`).
    #[serde(default = "default_pg_host")]
    pub host: String,
    #[serde(default = "default_pg_port")]
    pub port: u16,
    /// The instance's own role.
    pub user: String,
    /// The live database.
    pub dbname: String,
    /// Without one: PGPASSFILE, `~/.pgpass` or password-less authentication.
    pub password: Option<SecretRef>,
    #[serde(default)]
    pub strategy: PgStrategy,
    /// Parallel jobs of pg_dump and pg_restore.
    #[serde(default = "default_pg_jobs")]
    pub jobs: u32,
    /// End leftover sessions of `user` on the live database at backup time
    /// (other roles' sessions are always refused).
    #[serde(default)]
    pub terminate_own_sessions: bool,
    /// Folder with pg_dump and pg_restore; default PATH, then the newest
    /// `/usr/lib/postgresql/*/bin`.
    pub bin_dir: Option<FilePath>,
}

/// How a PostgreSQL database is backed up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PgStrategy {
    /// A verified pg_dump directory; restore into a fresh database, then swap names.
    #[default]
    Dump,
    /// `CREATE DATABASE .. TEMPLATE live` in the window; rollback renames it back.
    Snapshot,
}

fn default_pg_host() -> String {
    "127.0.0.1".into()
}

fn default_pg_port() -> u16 {
    5432
}

fn default_pg_jobs() -> u32 {
    2
}

/// Where backups go, and how many `backups prune` keeps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupsConfig {
    /// Default `<state_dir>/backups`.
    pub dir: Option<FilePath>,
    /// Database backups kept by `backups prune` (newest first).
    #[serde(default = "default_keep_db")]
    pub keep_db: usize,
    /// Key bundles kept by `backups prune` (newest first; at least 1).
    #[serde(default = "default_keep_keys")]
    pub keep_keys: usize,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        BackupsConfig {
            dir: None,
            keep_db: default_keep_db(),
            keep_keys: default_keep_keys(),
        }
    }
}

fn default_keep_db() -> usize {
    5
}

fn default_keep_keys() -> usize {
    3
}

/// How the schema is upgraded.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MigrationConfig {
    /// A command run from the new version (templated, `{dir}` is its folder).
    Command {
        run: Vec<String>,
        #[serde(default = "default_timeout", with = "humantime_serde")]
        timeout: Duration,
    },
    /// The server migrates itself when it starts; the start timeout covers it.
    OnStart,
}

fn default_timeout() -> Duration {
    Duration::from_secs(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        database: DatabaseConfig,
    }

    fn parse(text: &str) -> Result<DatabaseConfig, toml::de::Error> {
        toml::from_str::<File>(text).map(|f| f.database)
    }

    #[test]
    fn postgres_fields_have_defaults_and_typos_are_refused() {
        let cfg = parse("[database]\nkind = \"postgres\"\nuser = \"app\"\ndbname = \"appdb\"\n");
        let DatabaseConfig::Postgres(pg) = cfg.unwrap() else {
            panic!("not postgres")
        };
        assert_eq!((pg.host.as_str(), pg.port, pg.jobs), ("127.0.0.1", 5432, 2));
        assert_eq!(pg.strategy, PgStrategy::Dump);
        assert!(!pg.terminate_own_sessions && pg.password.is_none() && pg.bin_dir.is_none());

        let cfg = parse(
            "[database]\nkind = \"postgres\"\nuser = \"app\"\ndbname = \"appdb\"\n\
             strategy = \"snapshot\"\npassword = { env = \"PGPW\" }\njobs = 4\n",
        );
        let DatabaseConfig::Postgres(pg) = cfg.unwrap() else {
            panic!("not postgres")
        };
        assert_eq!((pg.strategy, pg.jobs), (PgStrategy::Snapshot, 4));
        assert_eq!(pg.password.unwrap().env.as_deref(), Some("PGPW"));

        for bad in [
            "user = \"app\"\ndbname = \"d\"\nstrategy = \"copy\"",
            "user = \"app\"\ndbname = \"d\"\nterminate_sessions = true",
            "user = \"app\"",
        ] {
            let text = format!("[database]\nkind = \"postgres\"\n{bad}\n");
            assert!(parse(&text).is_err(), "{bad}");
        }
    }
}
