//! A node on this machine: its install and service driven directly.

use super::Node;
use crate::config::CheckConfig;
use crate::drivers::checks::{self, CheckContext, CheckOutcome, Patience};
use crate::drivers::db::Database;
use crate::drivers::http::Client;
use crate::drivers::install::Install;
use crate::drivers::service::Service;
use crate::support::cmd;
use crate::support::error::Result;
use crate::support::fsutil;
use crate::support::template::Vars;
use crate::support::version::Version;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A node whose files and processes are on this machine.
#[derive(Debug)]
pub struct LocalNode {
    pub name: String,
    pub install: Install,
    pub service: Box<dyn Service>,
    pub checks: Vec<CheckConfig>,
    /// Template values that do not depend on the version.
    pub base: Vars,
    pub instance_dir: PathBuf,
    pub client: Client,
}

impl LocalNode {
    /// Template values for this node on `to` (upgrading from `from`).
    pub fn vars(&self, from: Option<&Version>, to: &Version) -> Vars {
        self.install.version_vars(&self.base, from, to)
    }
}

impl Node for LocalNode {
    fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self) -> String {
        format!("{} (local, {})", self.name, self.install.root().display())
    }

    fn current(&self) -> Result<Option<Version>> {
        self.install.current()
    }

    fn is_staged(&self, v: &Version) -> Result<bool> {
        Ok(self.install.is_staged(v))
    }

    fn stage(&self, v: &Version, artifact: Option<(&Path, &str)>) -> Result<()> {
        let mut vars = self.vars(None, v);
        if let Some((path, _)) = artifact {
            vars.set("artifact", path.to_string_lossy());
        }
        self.install
            .stage(v, artifact.map(|(path, _)| path), &vars)?;
        Ok(())
    }

    /// Activates `v` first where the install has an `activate` command
    /// (an installer that installs in place), with `{from}` naming the
    /// version being left, then moves the link: a link at a version means
    /// it was activated, so a resumed run finding it moved is done.
    fn switch(&self, v: &Version) -> Result<()> {
        let leaving = self.install.current()?;
        if leaving.as_ref() == Some(v) {
            return Ok(());
        }
        self.install.activate(v, &self.vars(leaving.as_ref(), v))?;
        self.install.switch(v)
    }

    fn is_running(&self) -> Result<bool> {
        self.service.is_running()
    }

    fn start(&self, version: &Version) -> Result<()> {
        self.service.start(&self.vars(None, version))
    }

    fn stop(&self) -> Result<()> {
        self.service.stop()
    }

    fn command_checks(&self, version: &Version, db: &dyn Database) -> Result<Vec<CheckOutcome>> {
        let commands: Vec<CheckConfig> = self
            .checks
            .iter()
            .filter(|c| matches!(c, CheckConfig::Command { .. }))
            .cloned()
            .collect();
        let vars = self.vars(None, version);
        let ctx = CheckContext {
            client: &self.client,
            instance_dir: &self.instance_dir,
            vars: &vars,
            db,
            expect_version: Some(version),
            patience: Patience::UntilDeadline,
        };
        Ok(checks::run_all(&commands, &ctx))
    }

    fn checks(&self) -> &[CheckConfig] {
        &self.checks
    }

    fn run(
        &self,
        argv: &[String],
        from: &Version,
        to: &Version,
        timeout: Duration,
        what: &str,
    ) -> Result<()> {
        let argv = self.render(argv, from, to);
        cmd::run_ok(&argv, &self.instance_dir, timeout, what)?;
        Ok(())
    }

    fn render(&self, argv: &[String], from: &Version, to: &Version) -> Vec<String> {
        self.vars(Some(from), to).render_all(argv)
    }

    fn free_space(&self) -> Result<u64> {
        fsutil::free_space(self.install.root())
    }

    fn describe_service(&self, version: Option<&Version>) -> String {
        let vars = match version {
            Some(v) => self.vars(None, v),
            None => self.install.node_vars(&self.base),
        };
        self.service.describe(&vars)
    }
}
