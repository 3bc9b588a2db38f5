//! The server's configuration file (TOML, `--config FILE`) and the files it
//! points at: master key, API key and licence.
//!
//! Relative paths are resolved against the config file's folder so an instance
//! folder can be moved or copied whole. Unknown fields are rejected, so a typo
//! fails loudly instead of silently using a default.
//!
//! The database is either a SQLite file (`database`, as every config before
//! PostgreSQL support had it) or a PostgreSQL connection string (`postgres`,
//! libpq `key=value` pairs without the password, which comes from
//! `postgres_password_file` or `PGPASSWORD`). Exactly one must be set;
//! [`load`] checks it so a wrong config fails before anything opens.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::crypto::MasterKey;
use crate::db::{PgTarget, Source};

/// A server instance's configuration, with every path made absolute by [`load`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:18080` (port 0 picks a free port).
    pub listen: String,
    /// The SQLite database file (or set `postgres`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<PathBuf>,
    /// A PostgreSQL connection string, e.g. `host=127.0.0.1 port=5432
    /// user=sample dbname=sample`, without the password (or set `database`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    /// File holding the PostgreSQL password (else `PGPASSWORD` is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_password_file: Option<PathBuf>,
    /// File holding the master key as base64.
    pub master_key_file: PathBuf,
    /// File holding the licence as JSON.
    pub licence_file: PathBuf,
    /// File holding the API key (surrounding whitespace trimmed).
    pub api_key_file: PathBuf,
    /// Run pending migrations when `serve` starts.
    #[serde(default)]
    pub migrate_on_start: bool,
    /// Test switch of one node of a cluster: `GET /api/health` answers 418
    /// while this release version runs here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_on: Option<String>,
}

/// The licence file: who may run the server and until when upgrades are covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Licence {
    /// The licence holder.
    pub licensee: String,
    /// Releases published up to this date (`YYYY-MM-DD`) are covered.
    pub upgrades_until: String,
}

/// Reads a config file and resolves its relative paths against its folder.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    let mut config: Config =
        toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let optional = [&mut config.database, &mut config.postgres_password_file];
    for p in optional.into_iter().flatten().chain([
        &mut config.master_key_file,
        &mut config.licence_file,
        &mut config.api_key_file,
    ]) {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    config
        .source()
        .with_context(|| format!("config {}", path.display()))?;
    Ok(config)
}

impl Config {
    /// Where the data is: the SQLite file or the PostgreSQL database.
    pub fn source(&self) -> Result<Source> {
        match (&self.database, &self.postgres) {
            (Some(path), None) => {
                anyhow::ensure!(
                    self.postgres_password_file.is_none(),
                    "`postgres_password_file` is set but the database is SQLite (`database`): remove it"
                );
                Ok(Source::Sqlite(path.clone()))
            }
            (None, Some(conn)) => Ok(Source::Postgres(PgTarget::new(
                conn,
                self.postgres_password_file.clone(),
            )?)),
            (Some(_), Some(_)) => anyhow::bail!(
                "both `database` (a SQLite file) and `postgres` (a connection string) are set: keep exactly one"
            ),
            (None, None) => anyhow::bail!(
                "no database: set `database` (a SQLite file) or `postgres` (a connection string)"
            ),
        }
    }

    /// Reads the master key file.
    pub fn master_key(&self) -> Result<MasterKey> {
        let text = std::fs::read_to_string(&self.master_key_file)
            .with_context(|| format!("reading master key {}", self.master_key_file.display()))?;
        MasterKey::from_base64(&text)
            .with_context(|| format!("master key file {}", self.master_key_file.display()))
    }

    /// Reads the API key file.
    pub fn api_key(&self) -> Result<String> {
        let text = std::fs::read_to_string(&self.api_key_file)
            .with_context(|| format!("reading API key {}", self.api_key_file.display()))?;
        let key = text.trim().to_owned();
        anyhow::ensure!(
            !key.is_empty(),
            "API key file {} is empty",
            self.api_key_file.display()
        );
        Ok(key)
    }

    /// Reads the licence file.
    pub fn licence(&self) -> Result<Licence> {
        let text = std::fs::read_to_string(&self.licence_file)
            .with_context(|| format!("reading licence {}", self.licence_file.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("parsing licence {}", self.licence_file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_paths_and_rejects_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:0\"\ndatabase = \"data/db.sqlite\"\nmaster_key_file = \"/abs/master.key\"\nlicence_file = \"l.json\"\napi_key_file = \"k\"\n",
        )
        .unwrap();
        let c = load(&path).unwrap();
        assert_eq!(
            c.source().unwrap(),
            Source::Sqlite(dir.path().join("data/db.sqlite"))
        );
        assert_eq!(c.master_key_file, PathBuf::from("/abs/master.key"));
        assert!(!c.migrate_on_start);
        std::fs::write(&path, "listen = \"x\"\nbogus = 1\n").unwrap();
        assert!(load(&path).is_err());
    }

    #[test]
    fn postgres_or_sqlite_exactly_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        let keys =
            "listen = \"x\"\nmaster_key_file = \"m\"\nlicence_file = \"l\"\napi_key_file = \"k\"\n";
        let pg = "postgres = \"host=127.0.0.1 port=5432 user=sample dbname=sample\"\n";
        let write = |extra: &str| std::fs::write(&path, format!("{keys}{extra}")).unwrap();

        write(&format!("{pg}postgres_password_file = \"keys/pg.pass\"\n"));
        let c = load(&path).unwrap();
        let Source::Postgres(target) = c.source().unwrap() else {
            panic!("expected postgres");
        };
        assert_eq!(
            target.conn(),
            "host=127.0.0.1 port=5432 user=sample dbname=sample"
        );
        assert_eq!(
            c.postgres_password_file,
            Some(dir.path().join("keys/pg.pass"))
        );

        write(&format!("{pg}database = \"db.sqlite\"\n"));
        let both = format!("{:#}", load(&path).unwrap_err());
        assert!(both.contains("keep exactly one"), "{both}");
        write("");
        let none = format!("{:#}", load(&path).unwrap_err());
        assert!(none.contains("no database"), "{none}");
        write("postgres = \"host=h password=hunter2\"\n");
        let secret = format!("{:#}", load(&path).unwrap_err());
        assert!(secret.contains("must not hold the password"), "{secret}");
        assert!(!secret.contains("hunter2"), "{secret}");
    }
}
