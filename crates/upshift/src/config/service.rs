//! `[service]`: how the server is started, stopped and seen running.

use super::{FilePath, HttpProbe};
use serde::Deserialize;
use std::time::Duration;

/// Service control.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ServiceConfig {
    /// upshift starts the process itself and tracks it with a pidfile.
    Process {
        /// The command line (argv), templated.
        start: Vec<String>,
        pidfile: FilePath,
        /// Where the process's stdout and stderr go (appended).
        log: Option<FilePath>,
        /// Signal sent first: TERM, INT, QUIT or HUP.
        #[serde(default = "default_signal")]
        stop_signal: String,
        /// After this, SIGKILL.
        #[serde(default = "default_stop_timeout", with = "humantime_serde")]
        stop_timeout: Duration,
        /// How long start may take, including an on-start migration.
        #[serde(default = "default_start_timeout", with = "humantime_serde")]
        start_timeout: Duration,
        /// Started means this URL answers 2xx (otherwise: the process lives).
        ready: Option<HttpProbe>,
    },
    /// A systemd unit, driven with systemctl.
    Systemd {
        unit: String,
        #[serde(default = "default_start_timeout", with = "humantime_serde")]
        start_timeout: Duration,
        ready: Option<HttpProbe>,
    },
    /// Commands to start, stop and ask (exit 0 = running).
    Command {
        start: Vec<String>,
        stop: Vec<String>,
        status: Vec<String>,
        /// Run in order right before `stop`, while the service still runs
        /// (remove a watchdog that would restart it, drain the node).
        #[serde(default)]
        before_stop: Vec<Vec<String>>,
        /// Run in order once a start is proven ready (put the watchdog back).
        #[serde(default)]
        after_start: Vec<Vec<String>>,
        #[serde(default = "default_start_timeout", with = "humantime_serde")]
        start_timeout: Duration,
        #[serde(default = "default_stop_timeout", with = "humantime_serde")]
        stop_timeout: Duration,
        ready: Option<HttpProbe>,
    },
}

fn default_signal() -> String {
    "TERM".into()
}

fn default_stop_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_start_timeout() -> Duration {
    Duration::from_secs(120)
}
