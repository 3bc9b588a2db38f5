//! One server installation, with its drivers assembled from the instance file.
//!
//! Opening an [`Instance`] reads and checks the instance file and builds a
//! driver for each section; it touches nothing on the server. Every command
//! starts here.

use crate::config::{self, DatabaseConfig, Loaded};
use crate::db::{self, Database};
use crate::error::Result;
use crate::http::Client;
use crate::install::Install;
use crate::maintenance::Maintenance;
use crate::release::Source;
use crate::service::{self, Service};
use crate::state::{Lock, State};
use crate::template::Vars;
use crate::version::Version;
use std::path::{Path, PathBuf};

/// An instance file and the drivers it describes.
#[derive(Debug)]
pub struct Instance {
    pub loaded: Loaded,
    pub state_dir: PathBuf,
    pub client: Client,
    pub install: Install,
    pub service: Box<dyn Service>,
    pub maintenance: Maintenance,
    pub db: Box<dyn Database>,
    pub source: Source,
}

impl Instance {
    /// Loads `file`; `state_dir` overrides the instance file's choice.
    pub fn open(file: &Path, state_dir: Option<&Path>) -> Result<Instance> {
        let loaded = config::load(file)?;
        let cfg = &loaded.file;
        let state_dir = match (state_dir, &cfg.instance.state_dir) {
            (Some(dir), _) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            (None, Some(dir)) => dir.path().to_path_buf(),
            (None, None) => loaded.dir.join(".upshift"),
        };
        let client = Client::new(cfg.instance.http_timeout);
        let cache_dir = match &cfg.release.cache_dir {
            Some(dir) => dir.path().to_path_buf(),
            None => state_dir.join("cache"),
        };
        let mut release = cfg.release.clone();
        if !release.source.contains("://") {
            release.source = loaded.dir.join(&release.source).display().to_string();
        }
        let source = Source::new(&release, cache_dir)?;
        Ok(Instance {
            install: Install::new(&cfg.install, &loaded.dir),
            service: service::from_config(&cfg.service, &loaded.dir, &client),
            maintenance: Maintenance::new(&cfg.maintenance, &client, &loaded.dir),
            db: db::open(&cfg.database, &loaded.dir),
            source,
            client,
            state_dir,
            loaded,
        })
    }

    /// The instance's name from the file.
    pub fn name(&self) -> &str {
        &self.loaded.file.instance.name
    }

    /// Opens the state database (journal, catalog, history).
    pub fn state(&self) -> Result<State> {
        State::open(&self.state_dir)
    }

    /// Takes the instance lock for `what` (a command name).
    pub fn lock(&self, what: &str) -> Result<Lock> {
        Lock::acquire(&self.state_dir, what)
    }

    /// Where backups are written.
    pub fn backups_dir(&self) -> PathBuf {
        match &self.loaded.file.backups.dir {
            Some(dir) => dir.path().to_path_buf(),
            None => self.state_dir.join("backups"),
        }
    }

    /// The version `current` points at, or an input error if there is none.
    pub fn current_version(&self) -> Result<Version> {
        self.install.current()?.ok_or_else(|| {
            crate::Error::input(format!(
                "no current version: {} is not a link to an installed version",
                self.install.root().join("current").display()
            ))
            .hint("upshift upgrades an existing installation laid out as <root>/versions/<v> with <root>/current pointing at one")
        })
    }

    /// Template values for commands outside a run: the installed version.
    pub fn current_vars(&self) -> Result<Vars> {
        let current = self.current_version()?;
        Ok(self.vars(None, &current))
    }

    /// Template values for commands, for an upgrade `from` -> `to`.
    pub fn vars(&self, from: Option<&Version>, to: &Version) -> Vars {
        let mut vars = Vars::default();
        let root = self.install.root();
        vars.set("version", to.to_string())
            .set("dir", self.install.version_dir(to).display().to_string())
            .set("root", root.display().to_string())
            .set("current", root.join("current").display().to_string())
            .set("instance_dir", self.loaded.dir.display().to_string())
            .set("state_dir", self.state_dir.display().to_string());
        if let Some(from) = from {
            vars.set("from", from.to_string());
        }
        match &self.loaded.file.database {
            DatabaseConfig::Sqlite { path } => vars.set("db", path.path().display().to_string()),
            DatabaseConfig::Postgres(pg) => vars.set("db", pg.dbname.clone()),
            DatabaseConfig::Command(c) => vars.set("db", c.name.clone()),
        };
        vars
    }
}
