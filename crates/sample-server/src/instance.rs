//! Creating an instance folder the way an installer would: a config file
//! with relative paths, a random master key, a random API key and a licence.
//!
//! ```text
//! <dir>/server.toml
//! <dir>/data/sample.sqlite      (created by the first migrate/seed/serve;
//!                               [`Instance::edit_config`] can point it to PostgreSQL)
//! <dir>/keys/{master.key, api.key, licence.json}
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::RngCore;

use crate::config::{Config, Licence};
use crate::crypto::MasterKey;

/// The files of a new instance and the keys written into them.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The config file (`<dir>/server.toml`).
    pub config_path: PathBuf,
    /// The loaded config, with absolute paths.
    pub config: Config,
    /// The API key written to the key file.
    pub api_key: String,
    /// The master key written to the key file.
    pub master_key: MasterKey,
}

/// Writes a new instance into `dir` listening on `listen`.
pub fn create(dir: &Path, listen: &str, licence: &Licence) -> Result<Instance> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("creating {}", keys.display()))?;
    let master_key = MasterKey::generate();
    let mut raw = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let api_key = format!("API-{}", hex::encode_upper(raw));
    write_private(&keys.join("master.key"), &master_key.to_base64())?;
    write_private(&keys.join("api.key"), &api_key)?;
    std::fs::write(
        keys.join("licence.json"),
        serde_json::to_string_pretty(licence)?,
    )?;
    let relative = Config {
        listen: listen.to_owned(),
        database: Some("data/sample.sqlite".into()),
        postgres: None,
        postgres_password_file: None,
        master_key_file: "keys/master.key".into(),
        licence_file: "keys/licence.json".into(),
        api_key_file: "keys/api.key".into(),
        migrate_on_start: false,
        unhealthy_on: None,
    };
    let config_path = dir.join("server.toml");
    std::fs::write(&config_path, toml::to_string(&relative)?)
        .with_context(|| format!("writing {}", config_path.display()))?;
    Ok(Instance {
        config: crate::config::load(&config_path)?,
        config_path,
        api_key,
        master_key,
    })
}

impl Instance {
    /// Changes the config file with `edit` (its paths as written, relative
    /// to the file) and loads it again, e.g. to move the data to PostgreSQL.
    pub fn edit_config(&mut self, edit: impl FnOnce(&mut Config)) -> Result<()> {
        let path = &self.config_path;
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut relative: Config =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        edit(&mut relative);
        std::fs::write(path, toml::to_string(&relative)?)
            .with_context(|| format!("writing {}", path.display()))?;
        self.config = crate::config::load(path)?;
        Ok(())
    }
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{text}")?;
    Ok(())
}
