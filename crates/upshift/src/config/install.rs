//! `[install]`: how a version is put in place beside the others.

use super::FilePath;
use serde::Deserialize;
use std::time::Duration;

/// Install method. Both keep each version in `<root>/versions/<version>` and
/// point `<root>/current` at the one in use.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum InstallConfig {
    /// Unpack the release archive (tar.gz or zip).
    Archive { root: FilePath },
    /// Run a command that installs `{version}` into `{dir}`.
    Command {
        root: FilePath,
        run: Vec<String>,
        /// For installers that can only install in place (an MSI): run at
        /// `switch`, in the window with the service stopped, before
        /// `current` moves; and for the old version when `switch` is undone.
        activate: Option<Vec<String>>,
        #[serde(default = "default_timeout", with = "humantime_serde")]
        timeout: Duration,
    },
}

impl InstallConfig {
    /// Moves the install root (a node's own root).
    pub fn set_root(&mut self, to: &std::path::Path) {
        match self {
            InstallConfig::Archive { root } | InstallConfig::Command { root, .. } => {
                *root = FilePath::from_path(to)
            }
        }
    }

    /// The install root.
    pub fn root(&self) -> &std::path::Path {
        match self {
            InstallConfig::Archive { root } | InstallConfig::Command { root, .. } => root.path(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(600)
}
