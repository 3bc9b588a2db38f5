//! `[database]`, `[backups]` and `[migration]`.

use super::FilePath;
use serde::Deserialize;
use std::time::Duration;

/// The instance's database.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum DatabaseConfig {
    /// A SQLite file, backed up through SQLite's online backup API.
    Sqlite { path: FilePath },
}

/// Where backups go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupsConfig {
    /// Default `<state_dir>/backups`.
    pub dir: Option<FilePath>,
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
