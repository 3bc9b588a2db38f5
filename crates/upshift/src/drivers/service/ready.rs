//! Waiting for a started service to be ready, shared by every driver.
//!
//! Ready means the probe URL answers 2xx (and, when the probe names a JSON
//! pointer, the answer holds something other than `false` or `null` there).
//! Without a probe, ready means the service stays alive for a short settling
//! time: a server that exits at once on a bad config must fail its start,
//! not pass it because it was still alive a millisecond after the fork.
//!
//! The timeout is a deadline: a probe request that hangs is cut off at it
//! (`http::Client::until`), not `http_timeout` later.
//!
//! Every poll first asks the driver whether the service still lives, so a
//! service that dies while starting fails the start at once with the
//! driver's own reason (an exit status, a unit state), not after the timeout.

use crate::config::HttpProbe;
use crate::drivers::http;
use crate::support::error::{Error, Result};
use std::time::{Duration, Instant};

/// How long a service without a probe must stay alive to count as started.
const SETTLE: Duration = Duration::from_millis(500);
/// Time between two polls.
const POLL: Duration = Duration::from_millis(25);

/// A ready probe, or the lack of one.
#[derive(Debug, Clone)]
pub(crate) struct Ready {
    client: http::Client,
    probe: Option<HttpProbe>,
}

impl Ready {
    pub(crate) fn new(client: &http::Client, probe: Option<&HttpProbe>) -> Self {
        Ready {
            client: client.clone(),
            probe: probe.cloned(),
        }
    }

    /// Polls until the service is ready, at most `timeout` after `began`
    /// (when the start began). `alive` fails with the reason when the
    /// service has died.
    pub(crate) fn wait(
        &self,
        began: Instant,
        timeout: Duration,
        alive: &mut dyn FnMut() -> Result<()>,
    ) -> Result<()> {
        let started = Instant::now();
        let deadline = began + timeout;
        let client = self.client.until(deadline);
        let mut last_seen = None;
        loop {
            alive()?;
            match &self.probe {
                None if started.elapsed() >= SETTLE.min(timeout) => return Ok(()),
                None => {}
                Some(probe) => match ask(&client, probe) {
                    Ok(()) => return Ok(()),
                    // An attempt the deadline cut off ("timed out") says
                    // less than the answer before it: keep that one.
                    Err(seen) if last_seen.is_none() || Instant::now() < deadline => {
                        last_seen = Some(seen)
                    }
                    Err(_) => {}
                },
            }
            let now = Instant::now();
            if now >= deadline {
                let seen = last_seen.map(|s| format!(": {s}")).unwrap_or_default();
                return Err(Error::failed(format!(
                    "service did not become ready within {}{seen}",
                    humantime::format_duration(timeout)
                )));
            }
            std::thread::sleep(POLL.min(deadline - now));
        }
    }

    /// The probe's URL when something answers it as ready right now
    /// (asking no later than `deadline`).
    pub(crate) fn answering(&self, deadline: Instant) -> Option<&str> {
        let probe = self.probe.as_ref()?;
        ask(&self.client.until(deadline), probe)
            .ok()
            .map(|()| probe.url.as_str())
    }
}

/// Ok when the probe says ready, otherwise what it said instead.
fn ask(client: &http::Client, probe: &HttpProbe) -> Result<(), String> {
    let answer = client
        .get(&probe.url, &[&probe.headers])
        .map_err(|e| e.chain())?;
    if !answer.ok() {
        return Err(format!("GET {} answered {}", probe.url, answer.status));
    }
    let Some(pointer) = &probe.pointer else {
        return Ok(());
    };
    let what = format!("GET {}", probe.url);
    let json = answer.json(&what).map_err(|e| e.chain())?;
    match http::at_pointer(&json, pointer, &what).map_err(|e| e.chain())? {
        value @ (serde_json::Value::Null | serde_json::Value::Bool(false)) => {
            Err(format!("{what}: {pointer} was {value}"))
        }
        _ => Ok(()),
    }
}
