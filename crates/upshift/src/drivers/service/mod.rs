//! Service control: start the server, stop it, and ask whether it runs.
//!
//! Three drivers sit behind one trait, one file each: a process upshift
//! supervises itself through a pidfile ([`process`]), a systemd unit
//! ([`systemd`]) and a trio of operator commands ([`command`]). What they
//! share lives in [`ready`]: "started" means the `ready` probe answers 2xx
//! (or, without a probe, the service is seen alive), and a service that dies
//! while starting fails at once instead of after the whole start timeout.
//!
//! Both `start` and `stop` are idempotent, because a resumed run repeats the
//! step that was interrupted: starting a running service only waits for it to
//! be ready, stopping a stopped one does nothing. `stop` does not trust the
//! stop command alone: it returns only once the service is seen gone.

mod command;
mod gate;
mod process;
mod ready;
mod systemd;
#[cfg(test)]
pub(crate) mod test_http;

use crate::config::ServiceConfig;
use crate::drivers::http;
use crate::support::error::Result;
use crate::support::template::Vars;
use std::path::Path;

/// A server that can be started, stopped and asked whether it runs.
pub trait Service: std::fmt::Debug + Send + Sync {
    /// Starts and returns once started: the `ready` probe answers 2xx (or,
    /// without one, the service is seen alive), within the start timeout.
    /// Already running: waits for ready, starts nothing.
    fn start(&self, vars: &Vars) -> Result<()>;
    /// Stops and proves it is gone. Not running: does nothing.
    fn stop(&self) -> Result<()>;
    /// Whether the service runs now.
    fn is_running(&self) -> Result<bool>;
    /// For messages and plans: the driver and what it drives, its command
    /// rendered with `vars`.
    fn describe(&self, vars: &Vars) -> String;
}

/// The driver the instance file names. Commands run in `instance_dir`.
pub fn from_config(
    cfg: &ServiceConfig,
    instance_dir: &Path,
    client: &http::Client,
) -> Box<dyn Service> {
    match cfg {
        ServiceConfig::Process {
            start,
            pidfile,
            log,
            stop_signal,
            stop_timeout,
            start_timeout,
            ready,
        } => Box::new(process::Process {
            argv: start.clone(),
            pidfile: pidfile.path().to_path_buf(),
            log: log.as_ref().map(|l| l.path().to_path_buf()),
            stop_signal: stop_signal.clone(),
            stop_timeout: *stop_timeout,
            start_timeout: *start_timeout,
            ready: ready::Ready::new(client, ready.as_ref()),
            instance_dir: instance_dir.to_path_buf(),
        }),
        ServiceConfig::Systemd {
            unit,
            start_timeout,
            ready,
        } => Box::new(systemd::Systemd::new(
            "systemctl",
            unit,
            *start_timeout,
            ready::Ready::new(client, ready.as_ref()),
        )),
        ServiceConfig::Command {
            start,
            stop,
            status,
            before_stop,
            after_start,
            start_timeout,
            stop_timeout,
            ready,
        } => Box::new(command::Commands {
            start: start.clone(),
            stop: stop.clone(),
            status: status.clone(),
            before_stop: before_stop.clone(),
            after_start: after_start.clone(),
            start_timeout: *start_timeout,
            stop_timeout: *stop_timeout,
            ready: ready::Ready::new(client, ready.as_ref()),
            instance_dir: instance_dir.to_path_buf(),
        }),
    }
}
