//! The release manifest (`release.toml`) packaged beside the binary.
//!
//! It tells the binary which version it is, the highest migration it may run
//! (`schema`), and an optional break switch. At run time the binary reads
//! `<dir of current_exe>/../release.toml`: a release is unpacked as
//! `versions/<v>/{bin/sample-server,release.toml}`, and on Linux
//! `current_exe` resolves `/proc/self/exe`, so a `current` symlink in the
//! path used to start it does not matter.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// A failure to make happen for real, chosen per release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Break {
    /// The release's own migration fails half-way (see [`crate::migrations`]).
    Migration,
    /// `GET /api/health` answers 418.
    Health,
    /// `serve` hangs before it listens.
    Start,
}

impl FromStr for Break {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "migration" => Ok(Self::Migration),
            "health" => Ok(Self::Health),
            "start" => Ok(Self::Start),
            other => bail!("unknown break switch {other:?} (migration, health or start)"),
        }
    }
}

/// What a packaged release is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The release version, e.g. `2026.2.0`.
    pub version: String,
    /// The highest migration this release may run, and the schema it expects.
    pub schema: u32,
    /// An optional break switch.
    #[serde(rename = "break", default, skip_serializing_if = "Option::is_none")]
    pub brk: Option<Break>,
}

impl Manifest {
    /// A manifest without a break switch.
    pub fn new(version: &str, schema: u32) -> Self {
        Self {
            version: version.to_owned(),
            schema,
            brk: None,
        }
    }

    /// Reads a manifest file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading release manifest {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("parsing release manifest {}", path.display()))
    }

    /// The manifest as `release.toml` text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a manifest always serializes")
    }

    /// Where the running binary's manifest is: `<exe dir>/../release.toml`.
    pub fn beside_current_exe() -> Result<PathBuf> {
        let exe = std::env::current_exe().context("finding the running binary")?;
        let bin_dir = exe.parent().context("the binary has no parent folder")?;
        let root = bin_dir
            .parent()
            .context("the binary's folder has no parent folder")?;
        Ok(root.join("release.toml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_break_and_round_trips() {
        let m: Manifest =
            toml::from_str("version = \"2026.2.0\"\nschema = 2\nbreak = \"migration\"\n").unwrap();
        assert_eq!(m.brk, Some(Break::Migration));
        assert_eq!(toml::from_str::<Manifest>(&m.to_toml()).unwrap(), m);
        assert_eq!("health".parse::<Break>().unwrap(), Break::Health);
        assert!("nope".parse::<Break>().is_err());
        assert!(toml::from_str::<Manifest>("version = \"1\"\nschema = 1\nextra = 1\n").is_err());
    }
}
