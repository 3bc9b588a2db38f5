//! The server's configuration file (TOML, `--config FILE`) and the files it
//! points at: master key, API key and licence.
//!
//! Relative paths are resolved against the config file's folder so an instance
//! folder can be moved or copied whole. Unknown fields are rejected, so a typo
//! fails loudly instead of silently using a default.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::crypto::MasterKey;

/// A server instance's configuration, with every path made absolute by [`load`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:18080` (port 0 picks a free port).
    pub listen: String,
    /// The SQLite database file.
    pub database: PathBuf,
    /// File holding the master key as base64.
    pub master_key_file: PathBuf,
    /// File holding the licence as JSON.
    pub licence_file: PathBuf,
    /// File holding the API key (surrounding whitespace trimmed).
    pub api_key_file: PathBuf,
    /// Run pending migrations when `serve` starts.
    #[serde(default)]
    pub migrate_on_start: bool,
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
    for p in [
        &mut config.database,
        &mut config.master_key_file,
        &mut config.licence_file,
        &mut config.api_key_file,
    ] {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    Ok(config)
}

impl Config {
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
        assert_eq!(c.database, dir.path().join("data/db.sqlite"));
        assert_eq!(c.master_key_file, PathBuf::from("/abs/master.key"));
        assert!(!c.migrate_on_start);
        std::fs::write(&path, "listen = \"x\"\nbogus = 1\n").unwrap();
        assert!(load(&path).is_err());
    }
}
