//! A systemd unit, driven with `systemctl`.
//!
//! systemd owns the process; upshift asks it with the three subcommands whose
//! behaviour is documented and stable: `start` and `stop` (exit 0 on success,
//! a no-op when the unit already is in that state) and `is-active --quiet`
//! (exit 0 when active, non-zero otherwise). After `start` the ready probe
//! decides; after `stop` upshift asks `is-active` once more, because a unit
//! whose stop job "succeeded" may still be deactivating.
//!
//! The program is a field so tests can hand in a stand-in written from that
//! documented interface: systemd cannot run as PID 1 in a test.

use super::ready::Ready;
use super::Service;
use crate::support::cmd;
use crate::support::error::{Error, Result};
use crate::support::template::Vars;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `systemctl stop` may take; systemd kills the unit after its own
/// TimeoutStopSec (90s by default), so this is only a backstop.
const STOP_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `systemctl is-active` may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(30);

/// A unit and the `systemctl` that drives it.
#[derive(Debug)]
pub(crate) struct Systemd {
    program: PathBuf,
    unit: String,
    start_timeout: Duration,
    ready: Ready,
}

impl Systemd {
    /// `program` is `systemctl` in production.
    pub(crate) fn new(
        program: impl Into<PathBuf>,
        unit: &str,
        start_timeout: Duration,
        ready: Ready,
    ) -> Self {
        Systemd {
            program: program.into(),
            unit: unit.to_string(),
            start_timeout,
            ready,
        }
    }

    fn argv(&self, verb: &[&str]) -> Vec<String> {
        let program = self.program.to_string_lossy().into_owned();
        let words = verb.iter().map(|w| w.to_string());
        std::iter::once(program)
            .chain(words)
            .chain(std::iter::once(self.unit.clone()))
            .collect()
    }

    fn hint(&self) -> String {
        format!(
            "see `systemctl status {0}` and `journalctl -u {0}`",
            self.unit
        )
    }
}

impl Service for Systemd {
    fn start(&self, _vars: &Vars) -> Result<()> {
        let began = Instant::now();
        let what = format!("service start ({})", self.unit);
        cmd::run_ok(
            &self.argv(&["start"]),
            Path::new("/"),
            self.start_timeout,
            &what,
        )
        .map_err(|e| e.hint(self.hint()))?;
        self.ready
            .wait(
                began,
                self.start_timeout,
                &mut || match self.is_running()? {
                    true => Ok(()),
                    false => Err(Error::failed(format!(
                        "unit {} is no longer active while starting",
                        self.unit
                    ))),
                },
            )
            .map_err(|e| e.hint(self.hint()))
    }

    fn stop(&self) -> Result<()> {
        let what = format!("service stop ({})", self.unit);
        cmd::run_ok(&self.argv(&["stop"]), Path::new("/"), STOP_TIMEOUT, &what)
            .map_err(|e| e.hint(self.hint()))?;
        if self.is_running()? {
            return Err(Error::failed(format!(
                "unit {} is still active after `systemctl stop`",
                self.unit
            ))
            .hint(self.hint()));
        }
        Ok(())
    }

    fn is_running(&self) -> Result<bool> {
        let out = cmd::run(
            &self.argv(&["is-active", "--quiet"]),
            Path::new("/"),
            ASK_TIMEOUT,
        )?;
        Ok(out.status.success())
    }

    fn describe(&self, _vars: &Vars) -> String {
        format!("systemd unit {}", self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpProbe;
    use crate::drivers::http::Client;
    use crate::drivers::service::test_http::{Reply, TestServer};
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in for systemctl, written from its documented interface:
    /// `start`/`stop` exit 0 (and are no-ops in the state already reached),
    /// `is-active --quiet` exits 0 when active and 3 when not. Unit state is
    /// a file. `broken.service` fails to start; `crashy.service` starts and
    /// dies at once.
    const SYSTEMCTL: &str = r#"#!/bin/sh
here=$(dirname "$0")
echo "$*" >> "$here/calls"
case "$1" in
  start)
    case "$2" in
      broken.service) echo "Job for broken.service failed because the control process exited with error code." >&2; exit 1;;
      crashy.service) exit 0;;
    esac
    touch "$here/active.$2";;
  stop) rm -f "$here/active.$2";;
  is-active) [ "$2" = --quiet ] && [ -e "$here/active.$3" ] && exit 0; exit 3;;
  *) echo "Unknown command verb $1." >&2; exit 1;;
esac
"#;

    fn systemd(dir: &Path, unit: &str, probe: Option<HttpProbe>) -> Systemd {
        let program = dir.join("systemctl");
        std::fs::write(&program, SYSTEMCTL).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let client = Client::new(Duration::from_secs(2));
        Systemd::new(
            program,
            unit,
            Duration::from_secs(5),
            Ready::new(&client, probe.as_ref()),
        )
    }

    fn calls(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("calls")).unwrap_or_default()
    }

    #[test]
    fn starts_and_stops_a_unit() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(|_, n| match n {
            0 => Reply::Json(503, serde_json::json!({})),
            _ => Reply::Json(200, serde_json::json!({})),
        });
        let probe = HttpProbe {
            url: server.url.clone(),
            pointer: None,
            headers: Default::default(),
        };
        let s = systemd(dir.path(), "app.service", Some(probe));
        assert!(!s.is_running().unwrap());
        s.start(&Vars::default()).unwrap();
        assert!(s.is_running().unwrap());
        assert_eq!(server.requests().len(), 2, "start returned before ready");
        s.start(&Vars::default()).unwrap();
        s.stop().unwrap();
        assert!(!s.is_running().unwrap());
        s.stop().unwrap();
        assert!(calls(dir.path()).starts_with(
            "is-active --quiet app.service\nstart app.service\nis-active --quiet app.service\n"
        ));
    }

    #[test]
    fn a_failed_start_says_where_to_look() {
        let dir = tempfile::tempdir().unwrap();
        let err = systemd(dir.path(), "broken.service", None)
            .start(&Vars::default())
            .unwrap_err();
        assert!(err.to_string().contains("control process exited"), "{err}");
        assert!(err
            .hint_text()
            .unwrap()
            .contains("journalctl -u broken.service"));
    }

    #[test]
    fn a_unit_that_dies_while_starting_fails_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let err = systemd(dir.path(), "crashy.service", None)
            .start(&Vars::default())
            .unwrap_err();
        assert!(err.to_string().contains("no longer active"), "{err}");
    }
}
