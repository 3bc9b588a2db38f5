//! `[[checks]]`: how a started server proves it works.

use super::Headers;
use serde::Deserialize;
use std::time::Duration;

/// One check, run after start (and by `upshift check`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum CheckConfig {
    /// GET answers `status`; with `pointer`, the JSON there equals `equals`.
    Http {
        name: Option<String>,
        url: String,
        #[serde(default = "default_status")]
        status: u16,
        pointer: Option<String>,
        equals: Option<serde_json::Value>,
        #[serde(default)]
        headers: Headers,
        /// Retried until this deadline.
        #[serde(default = "default_within", with = "humantime_serde")]
        within: Duration,
    },
    /// The command exits 0 (templated).
    Command {
        name: Option<String>,
        run: Vec<String>,
        #[serde(default = "default_within", with = "humantime_serde")]
        within: Duration,
    },
    /// A query on the instance's database returns `equals` (first column of
    /// the first row).
    Sql {
        name: Option<String>,
        query: String,
        equals: serde_json::Value,
    },
    /// The running server reports the target version at `url` + `pointer`.
    Version {
        name: Option<String>,
        url: String,
        /// Where the version is in the JSON answer, for example `/Version`.
        pointer: String,
        #[serde(default)]
        headers: Headers,
        #[serde(default = "default_within", with = "humantime_serde")]
        within: Duration,
    },
}

fn default_status() -> u16 {
    200
}

fn default_within() -> Duration {
    Duration::from_secs(60)
}
