//! A service run by the operator's own commands: start, stop and status
//! (status exits 0 while the service runs).
//!
//! The commands are trusted to act, not to be accurate: after `start` the
//! ready probe decides, and after `stop` upshift polls `status` until it
//! says stopped, because many stop scripts return before the server exits.
//!
//! Optional hooks run around them: `before_stop` commands right before the
//! stop command (only when the service runs), `after_start` commands once a
//! start is proven ready. Octopus needs both: its service watchdog restarts
//! a stopped service, so it is removed before the stop and recreated after
//! the start. A failing hook fails the stop or start it belongs to.
//!
//! `stop`, `status` and `before_stop` are asked without a run's variables (a
//! resumed run or `upshift status` may have none), so they know
//! `{instance_dir}` only.

use super::ready::Ready;
use super::Service;
use crate::support::cmd;
use crate::support::error::{Error, Result};
use crate::support::template::Vars;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long `status` may take to answer.
const STATUS_TIMEOUT: Duration = Duration::from_secs(30);

/// The three commands.
#[derive(Debug)]
pub(super) struct Commands {
    pub(super) start: Vec<String>,
    pub(super) stop: Vec<String>,
    pub(super) status: Vec<String>,
    pub(super) before_stop: Vec<Vec<String>>,
    pub(super) after_start: Vec<Vec<String>>,
    pub(super) start_timeout: Duration,
    pub(super) stop_timeout: Duration,
    pub(super) ready: Ready,
    pub(super) instance_dir: PathBuf,
}

impl Commands {
    fn vars(&self) -> Vars {
        let mut vars = Vars::default();
        vars.set("instance_dir", self.instance_dir.to_string_lossy());
        vars
    }
}

impl Commands {
    /// Runs `hooks` in order, each within `timeout`; `what` names them in errors.
    fn hooks(
        &self,
        hooks: &[Vec<String>],
        vars: &Vars,
        timeout: Duration,
        what: &str,
    ) -> Result<()> {
        for (i, hook) in hooks.iter().enumerate() {
            let argv = vars.render_all(hook);
            cmd::run_ok_unlent(&argv, &self.instance_dir, timeout, &format!("{what}[{i}]"))?;
        }
        Ok(())
    }
}

impl Service for Commands {
    fn start(&self, vars: &Vars) -> Result<()> {
        let began = Instant::now();
        if !self.is_running()? {
            let argv = vars.render_all(&self.start);
            cmd::run_ok_unlent(
                &argv,
                &self.instance_dir,
                self.start_timeout,
                "service start",
            )?;
        }
        self.ready.wait(
            began,
            self.start_timeout,
            &mut || match self.is_running()? {
                true => Ok(()),
                false => Err(Error::failed("service status says stopped while starting")
                    .hint("run service.status by hand, and see the server's log")),
            },
        )?;
        self.hooks(
            &self.after_start,
            vars,
            self.start_timeout,
            "service.after_start",
        )
    }

    fn stop(&self) -> Result<()> {
        if !self.is_running()? {
            return Ok(());
        }
        self.hooks(
            &self.before_stop,
            &self.vars(),
            self.stop_timeout,
            "service.before_stop",
        )?;
        let began = Instant::now();
        let argv = self.vars().render_all(&self.stop);
        cmd::run_ok(&argv, &self.instance_dir, self.stop_timeout, "service stop")?;
        loop {
            if !self.is_running()? {
                return Ok(());
            }
            if began.elapsed() >= self.stop_timeout {
                return Err(Error::failed(format!(
                    "service status still says running {} after the stop command",
                    humantime::format_duration(self.stop_timeout)
                ))
                .hint("stop the server by hand, or raise service.stop_timeout"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn is_running(&self) -> Result<bool> {
        let argv = self.vars().render_all(&self.status);
        Ok(cmd::run(&argv, &self.instance_dir, STATUS_TIMEOUT)?
            .status
            .success())
    }

    fn describe(&self, vars: &Vars) -> String {
        format!(
            "commands (start `{}`)",
            vars.render_all(&self.start).join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::http::Client;
    use std::path::Path;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    /// The service is a state file: `running` exists while it runs.
    fn commands(dir: &Path, stop: &str) -> Commands {
        Commands {
            start: sh("echo {version} > {instance_dir}/running"),
            stop: sh(stop),
            status: sh("test -e {instance_dir}/running"),
            before_stop: Vec::new(),
            after_start: Vec::new(),
            start_timeout: Duration::from_secs(5),
            stop_timeout: Duration::from_secs(2),
            ready: Ready::new(&Client::new(Duration::from_secs(1)), None),
            instance_dir: dir.to_path_buf(),
        }
    }

    fn vars(dir: &Path) -> Vars {
        let mut vars = Vars::default();
        vars.set("version", "2026.2.0")
            .set("instance_dir", dir.to_string_lossy());
        vars
    }

    #[test]
    fn stop_waits_until_status_says_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let running = dir.path().join("running");
        let c = commands(
            dir.path(),
            "(sleep 0.3; rm {instance_dir}/running) >/dev/null 2>&1 &",
        );
        c.start(&vars(dir.path())).unwrap();
        assert_eq!(std::fs::read_to_string(&running).unwrap(), "2026.2.0\n");
        assert!(c.is_running().unwrap());
        c.stop().unwrap();
        assert!(
            !running.exists(),
            "stop returned while status still said running"
        );
        c.stop().unwrap();
    }

    #[test]
    fn start_of_a_running_service_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("running"), "old\n").unwrap();
        let c = commands(dir.path(), "rm {instance_dir}/running");
        c.start(&vars(dir.path())).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("running")).unwrap(),
            "old\n"
        );
        c.stop().unwrap();
        assert!(!c.is_running().unwrap());
    }

    #[test]
    fn a_stop_that_does_not_stop_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = commands(dir.path(), "true");
        c.stop_timeout = Duration::from_millis(300);
        c.start(&vars(dir.path())).unwrap();
        let err = c.stop().unwrap_err();
        assert!(err.to_string().contains("still says running"), "{err}");
    }

    #[test]
    fn a_service_that_is_not_running_after_start_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = commands(dir.path(), "true");
        c.start = sh("true");
        let err = c.start(&vars(dir.path())).unwrap_err();
        assert!(err.to_string().contains("says stopped"), "{err}");
    }

    #[test]
    fn hooks_run_around_stop_and_start_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls");
        let mut c = commands(
            dir.path(),
            "echo stop >> {instance_dir}/calls; rm {instance_dir}/running",
        );
        c.start = sh("echo start >> {instance_dir}/calls; echo {version} > {instance_dir}/running");
        c.before_stop = vec![
            sh("test -e {instance_dir}/running && echo watchdog-delete >> {instance_dir}/calls"),
            sh("echo drain {version} >> {instance_dir}/calls"),
        ];
        c.after_start = vec![sh("test -e {instance_dir}/running && echo watchdog-create {version} >> {instance_dir}/calls")];
        c.start(&vars(dir.path())).unwrap();
        c.start(&vars(dir.path())).unwrap();
        c.stop().unwrap();
        c.stop().unwrap();
        // Stop hooks know {instance_dir} only; a stopped service runs no hook.
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "start\nwatchdog-create 2026.2.0\nwatchdog-create 2026.2.0\nwatchdog-delete\ndrain {version}\nstop\n"
        );
    }

    #[test]
    fn a_failing_hook_fails_its_stop_or_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = commands(dir.path(), "rm {instance_dir}/running");
        c.after_start = vec![sh("echo no watchdog >&2; exit 4")];
        let err = c.start(&vars(dir.path())).unwrap_err();
        assert!(
            err.to_string().contains("service.after_start[0]")
                && err.to_string().contains("no watchdog"),
            "{err}"
        );
        c.before_stop = vec![sh("exit 5")];
        let err = c.stop().unwrap_err();
        assert!(err.to_string().contains("service.before_stop[0]"), "{err}");
        assert!(
            c.is_running().unwrap(),
            "stopped although before_stop failed"
        );
    }
}
