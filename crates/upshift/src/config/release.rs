//! `[release]`: where new versions come from and who signs them.

use super::FilePath;
use serde::Deserialize;
use std::time::Duration;

/// The release source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// An `http(s)://` URL of an index (JSON), or a local folder holding
    /// `index.json`, or the path of an index file.
    pub source: String,
    /// The publisher's minisign public key (the `RW...` line of its `.pub`).
    pub public_key: String,
    /// Where downloads are kept; default `<state_dir>/cache`.
    pub cache_dir: Option<FilePath>,
    /// Timeout for each HTTP request to the source.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
