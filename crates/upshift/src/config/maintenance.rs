//! `[maintenance]` and `[drain]`: closing the door and letting work finish.

use super::{Headers, HttpProbe, HttpRequest};
use serde::Deserialize;
use std::time::Duration;

/// How maintenance mode is turned on and off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum MaintenanceConfig {
    /// An HTTP request each way; `status` reads a boolean.
    Http {
        on: Box<HttpRequest>,
        off: Box<HttpRequest>,
        status: Option<HttpProbe>,
        /// Headers added to all three requests (API keys go here).
        #[serde(default)]
        headers: Headers,
    },
    /// A command each way; `status` exits 0 when maintenance is on.
    Command {
        on: Vec<String>,
        off: Vec<String>,
        status: Option<Vec<String>>,
    },
    /// The server has no maintenance mode.
    #[default]
    None,
}

/// Wait until the server's running work reaches zero.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainConfig {
    /// A GET answering JSON; `pointer` must point at a number.
    pub url: String,
    pub pointer: String,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(600)
}

fn default_interval() -> Duration {
    Duration::from_millis(500)
}
