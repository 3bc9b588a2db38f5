//! A server process upshift starts and supervises itself, tracked by a
//! pidfile.
//!
//! The pidfile holds "<pid> <starttime>", the start time being field 22 of
//! `/proc/<pid>/stat` (clock ticks since boot). A pid alone is not an
//! identity: after a crash or a reboot the number may belong to another
//! process, and signalling that one would be a disaster. A pidfile whose pid
//! is gone, or now names a process with another start time, is stale: the
//! service is not running, and nothing is signalled.
//!
//! The process runs in its own process group (`process_group(0)`), so the
//! operator's Ctrl-C does not reach it and a stop reaches its children too.
//! Its output is appended to the `log` file; the last lines of that file go
//! into the hint when a start fails, because that is where the reason is.
//!
//! The server starts behind a [`gate`](super::gate): it cannot run before
//! its pidfile is written, so a crash in between leaves nothing untracked.
//!
//! "Gone" counts a zombie as gone: when upshift itself started the process,
//! it stays a zombie child of ours after it exits, so it is reaped here.

use super::gate::{self, Gate};
use super::ready::Ready;
use super::Service;
use crate::support::error::{Context, Error, Result};
use crate::support::failpoint;
use crate::support::fsutil;
use crate::support::template::Vars;
use nix::errno::Errno;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for a process to vanish after SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How many lines of the log go into a hint.
const LOG_TAIL: usize = 10;

/// A supervised process.
#[derive(Debug)]
pub(super) struct Process {
    pub(super) argv: Vec<String>,
    pub(super) pidfile: PathBuf,
    pub(super) log: Option<PathBuf>,
    pub(super) stop_signal: String,
    pub(super) stop_timeout: Duration,
    pub(super) start_timeout: Duration,
    pub(super) ready: Ready,
    pub(super) instance_dir: PathBuf,
}

/// The identity of a process: its pid and when it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tracked {
    pid: i32,
    start: u64,
}

impl Service for Process {
    fn start(&self, vars: &Vars) -> Result<()> {
        let began = Instant::now();
        if let Some(running) = self.running()? {
            return self
                .ready
                .wait(began, self.start_timeout, &mut || match running.alive() {
                    true => Ok(()),
                    false => Err(Error::failed("service exited while starting")),
                })
                .map_err(|e| e.hint(self.log_hint()));
        }
        if let Some(url) = self.ready.answering(began + self.start_timeout) {
            return Err(Error::failed(format!(
                "something already answers at {url}, but no pidfile tracks it"
            ))
            .hint("a server started by an upshift that was killed before it wrote the pidfile, or another program, holds the address: stop it by hand, then run the command again"));
        }
        self.remove_pidfile()?;
        let (mut child, gate) = self.spawn(vars)?;
        let pid = child.id() as i32;
        let tracked = stat(pid).map(|(_, start)| Tracked { pid, start });
        let recorded = failpoint::hit("service-spawned")
            .and_then(|()| match tracked {
                Some(t) => fsutil::atomic_write(&self.pidfile, t.render().as_bytes(), 0o644),
                None => Err(Error::failed(format!(
                    "cannot read /proc/{pid}/stat of the service just started"
                ))),
            })
            .and_then(|()| gate.open());
        let waited = recorded.and_then(|()| {
            self.ready
                .wait(began, self.start_timeout, &mut || match child.try_wait() {
                    Ok(None) => Ok(()),
                    Ok(Some(status)) => Err(Error::failed(format!(
                        "service exited with {status} while starting"
                    ))),
                    Err(e) => Err(Error::failed("cannot wait for the service").caused_by(e)),
                })
        });
        if let Err(e) = waited {
            match tracked {
                Some(t) => self.terminate(t)?,
                None => {
                    let _ = child.kill();
                }
            }
            let _ = child.wait();
            self.remove_pidfile()?;
            return Err(e.hint(self.log_hint()));
        }
        Ok(())
    }

    fn stop(&self) -> Result<()> {
        if let Some(running) = self.running()? {
            self.terminate(running)?;
        }
        self.remove_pidfile()
    }

    fn is_running(&self) -> Result<bool> {
        Ok(self.running()?.is_some())
    }

    fn describe(&self, vars: &Vars) -> String {
        format!(
            "process `{}` (pidfile {})",
            vars.render_all(&self.argv).join(" "),
            self.pidfile.display()
        )
    }
}

impl Process {
    /// The process the pidfile names, if it is alive; `None` for no pidfile
    /// or a stale one.
    fn running(&self) -> Result<Option<Tracked>> {
        let text = match std::fs::read_to_string(&self.pidfile) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::failed(format!(
                    "cannot read pidfile {}",
                    self.pidfile.display()
                ))
                .caused_by(e))
            }
        };
        let tracked = Tracked::parse(&text).ok_or_else(|| {
            Error::failed(format!(
                "pidfile {} does not hold \"<pid> <starttime>\"",
                self.pidfile.display()
            ))
            .hint("upshift did not write it; remove it if no server is running")
        })?;
        Ok(Some(tracked).filter(Tracked::alive))
    }

    /// Starts the process in its own group, output to the log, behind a
    /// gate that must be opened (once the pidfile is written) for the
    /// server to run.
    fn spawn(&self, vars: &Vars) -> Result<(Child, Gate)> {
        let argv = vars.render_all(&self.argv);
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| Error::input("service.start: the command is empty"))?;
        let (stdout, stderr) = self.output()?;
        let (mut command, gate) = gate::gated(program, args)?;
        command
            .current_dir(&self.instance_dir)
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        // The server outlives upshift: it must never inherit the lock that
        // another thread may be lending to a command at this moment.
        let child = crate::support::lock::unlent(|| crate::support::cmd::spawn(&mut command))
            .map_err(|e| {
                Error::failed(format!("cannot start the service `{program}`"))
                    .caused_by(e)
                    .hint("check service.start in the instance file")
            })?;
        Ok((child, gate))
    }

    /// Sends the stop signal, then SIGKILL after `stop_timeout`, and waits
    /// until the process is gone.
    fn terminate(&self, t: Tracked) -> Result<()> {
        if !t.alive() {
            return Ok(());
        }
        t.signal(stop_signal(&self.stop_signal)?);
        if t.wait_gone(self.stop_timeout) {
            return Ok(());
        }
        t.signal(Signal::SIGKILL);
        if t.wait_gone(KILL_GRACE) {
            return Ok(());
        }
        Err(Error::failed(format!(
            "service process {} is still there after SIGKILL",
            t.pid
        ))
        .hint("it may be stuck in the kernel (disk or NFS); check `ps -o stat,wchan -p PID`"))
    }

    fn remove_pidfile(&self) -> Result<()> {
        match std::fs::remove_file(&self.pidfile) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::failed(format!(
                "cannot remove pidfile {}",
                self.pidfile.display()
            ))
            .caused_by(e)),
            _ => Ok(()),
        }
    }

    /// Where stdout and stderr go: appended to the log, or nowhere.
    fn output(&self) -> Result<(Stdio, Stdio)> {
        let Some(log) = &self.log else {
            return Ok((Stdio::null(), Stdio::null()));
        };
        let open = || -> std::io::Result<File> {
            std::fs::create_dir_all(fsutil::parent(log))?;
            OpenOptions::new().create(true).append(true).open(log)
        };
        let file = open().context(|| format!("cannot open service log {}", log.display()))?;
        let copy = file
            .try_clone()
            .context(|| format!("cannot open service log {}", log.display()))?;
        Ok((file.into(), copy.into()))
    }

    /// The hint for a failed start: the last lines of the log.
    fn log_hint(&self) -> String {
        let Some(log) = &self.log else {
            return "set service.log in the instance file to keep the server's output".into();
        };
        match tail(log, LOG_TAIL) {
            Some(lines) if !lines.is_empty() => {
                format!(
                    "last lines of {}:\n{}",
                    log.display(),
                    crate::support::redact::redact(&lines)
                )
            }
            _ => format!("{} is empty: the server said nothing", log.display()),
        }
    }
}

impl Tracked {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split_whitespace();
        let pid = parts.next()?.parse().ok().filter(|p| *p > 0)?;
        let start = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Tracked { pid, start })
    }

    fn render(&self) -> String {
        format!("{} {}\n", self.pid, self.start)
    }

    /// Whether this very process still runs (a zombie does not; a zombie
    /// child of ours is reaped).
    fn alive(&self) -> bool {
        match stat(self.pid) {
            Some((_, start)) if start != self.start => false,
            Some(('Z', _)) => {
                let _ = waitpid(Pid::from_raw(self.pid), Some(WaitPidFlag::WNOHANG));
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Signals the process group; the process alone if it left the group.
    fn signal(&self, sig: Signal) {
        let pid = Pid::from_raw(self.pid);
        if signal::killpg(pid, sig) == Err(Errno::ESRCH) {
            let _ = signal::kill(pid, sig);
        }
    }

    /// Polls until the process is gone; false if `timeout` passed first.
    fn wait_gone(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.alive() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// State (field 3) and start time (field 22) from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &text[text.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Fields 4 to 21 lie between the state and the start time.
    let start = fields.nth(21 - 3)?.parse().ok()?;
    Some((state, start))
}

fn stop_signal(name: &str) -> Result<Signal> {
    match name.trim_start_matches("SIG") {
        "TERM" => Ok(Signal::SIGTERM),
        "INT" => Ok(Signal::SIGINT),
        "QUIT" => Ok(Signal::SIGQUIT),
        "HUP" => Ok(Signal::SIGHUP),
        _ => Err(Error::input(format!(
            "service.stop_signal: `{name}` is not one of TERM, INT, QUIT, HUP"
        ))),
    }
}

/// The last `n` lines of a file (read from its last 64 KiB: logs grow big).
fn tail(path: &Path, n: usize) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    Some(lines[lines.len().saturating_sub(n)..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpProbe;
    use crate::drivers::http::Client;
    use crate::drivers::service::test_http::{Reply, TestServer};

    fn process(dir: &Path, script: &str, probe: Option<HttpProbe>) -> Process {
        Process {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            pidfile: dir.join("run/server.pid"),
            log: Some(dir.join("logs/server.log")),
            stop_signal: "TERM".into(),
            stop_timeout: Duration::from_secs(5),
            start_timeout: Duration::from_secs(10),
            ready: Ready::new(&Client::new(Duration::from_secs(2)), probe.as_ref()),
            instance_dir: dir.to_path_buf(),
        }
    }

    /// Kills what a test started, even when the test fails half-way.
    struct Cleanup<'a>(&'a Process);

    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            if let Ok(Some(t)) = self.0.running() {
                t.signal(Signal::SIGKILL);
                t.wait_gone(KILL_GRACE);
            }
        }
    }

    fn pidfile(p: &Process) -> Tracked {
        Tracked::parse(&std::fs::read_to_string(&p.pidfile).unwrap()).unwrap()
    }

    fn probe(url: String) -> Option<HttpProbe> {
        Some(HttpProbe {
            url,
            pointer: None,
            headers: Default::default(),
        })
    }

    #[test]
    fn starts_stops_and_both_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let p = process(dir.path(), "echo started; exec sleep 30", None);
        let _cleanup = Cleanup(&p);
        assert!(!p.is_running().unwrap());
        p.start(&Vars::default()).unwrap();
        let t = pidfile(&p);
        assert_eq!(stat(t.pid).map(|(_, s)| s), Some(t.start));
        assert!(p.is_running().unwrap());
        p.start(&Vars::default()).unwrap();
        assert_eq!(
            pidfile(&p),
            t,
            "a second start must not start another process"
        );
        p.stop().unwrap();
        assert!(!t.alive());
        assert!(!p.is_running().unwrap());
        assert!(!p.pidfile.exists());
        p.stop().unwrap();
        let log = std::fs::read_to_string(dir.path().join("logs/server.log")).unwrap();
        assert_eq!(log, "started\n");
    }

    #[test]
    fn start_waits_for_the_ready_probe() {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = format!("sleep 0.3; exec python3 -m http.server {port} --bind 127.0.0.1");
        let p = process(
            dir.path(),
            &script,
            probe(format!("http://127.0.0.1:{port}/")),
        );
        let _cleanup = Cleanup(&p);
        p.start(&Vars::default()).unwrap();
        let answer = Client::new(Duration::from_secs(2))
            .get(&format!("http://127.0.0.1:{port}/"), &[])
            .unwrap();
        assert_eq!(answer.status, 200);
        p.stop().unwrap();
        assert!(!p.is_running().unwrap());
    }

    #[test]
    fn stop_escalates_to_sigkill_when_term_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = process(
            dir.path(),
            "trap '' TERM; echo trapped; while :; do sleep 0.1; done",
            None,
        );
        p.stop_timeout = Duration::from_millis(300);
        let _cleanup = Cleanup(&p);
        p.start(&Vars::default()).unwrap();
        let t = pidfile(&p);
        let log = dir.path().join("logs/server.log");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
            assert!(Instant::now() < deadline, "the trap was never set");
            std::thread::sleep(Duration::from_millis(20));
        }
        let began = Instant::now();
        p.stop().unwrap();
        assert!(
            began.elapsed() >= Duration::from_millis(300),
            "TERM was not ignored"
        );
        assert!(!t.alive());
        assert!(!p.pidfile.exists());
    }

    #[test]
    fn stale_pidfiles_are_not_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let p = process(dir.path(), "exec sleep 30", None);
        let _cleanup = Cleanup(&p);
        let me = std::process::id() as i32;
        let (_, my_start) = stat(me).unwrap();
        // Our own pid with another start time: a reused pid.
        let reused = Tracked {
            pid: me,
            start: my_start + 1,
        };
        fsutil::atomic_write(&p.pidfile, reused.render().as_bytes(), 0o644).unwrap();
        assert!(!p.is_running().unwrap());
        p.stop().unwrap();
        assert!(!p.pidfile.exists());
        // A pid that is gone.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let gone_pid = gone.id() as i32;
        gone.wait().unwrap();
        let dead = Tracked {
            pid: gone_pid,
            start: 1,
        };
        fsutil::atomic_write(&p.pidfile, dead.render().as_bytes(), 0o644).unwrap();
        assert!(!p.is_running().unwrap());
        p.start(&Vars::default()).unwrap();
        assert_ne!(pidfile(&p), dead);
        assert!(p.is_running().unwrap());
        p.stop().unwrap();
    }

    #[test]
    fn a_garbled_pidfile_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = process(dir.path(), "exec sleep 30", None);
        fsutil::atomic_write(&p.pidfile, b"hello", 0o644).unwrap();
        let err = p.is_running().unwrap_err();
        assert!(err.to_string().contains("does not hold"), "{err}");
    }

    #[test]
    fn start_fails_fast_when_the_process_exits() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = process(dir.path(), "echo 'bad config line 3' >&2; exit 3", None);
        p.start_timeout = Duration::from_secs(30);
        let began = Instant::now();
        let err = p.start(&Vars::default()).unwrap_err();
        assert!(began.elapsed() < Duration::from_secs(5));
        assert!(
            err.to_string().contains("exited with exit status: 3"),
            "{err}"
        );
        assert!(
            err.hint_text().unwrap().contains("bad config line 3"),
            "{:?}",
            err.hint_text()
        );
        assert!(!p.pidfile.exists());
    }

    #[test]
    fn ready_timeout_kills_the_started_process() {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(|_, _| Reply::Json(503, serde_json::json!({})));
        let mut p = process(
            dir.path(),
            "echo $$ > child.pid; echo warming up; exec sleep 30",
            probe(server.url.clone()),
        );
        p.start_timeout = Duration::from_secs(1);
        let err = p.start(&Vars::default()).unwrap_err();
        let pid: i32 = std::fs::read_to_string(dir.path().join("child.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let leaked = stat(pid).is_some();
        if leaked {
            let _ = signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        assert!(!leaked, "the process that never became ready still runs");
        assert!(
            err.to_string()
                .starts_with("service did not become ready within 1s"),
            "{err}"
        );
        assert!(err.to_string().contains("answered 503"), "{err}");
        assert!(err.hint_text().unwrap().contains("warming up"));
        assert!(!p.pidfile.exists());
        assert!(!server.requests().is_empty());
    }

    #[test]
    fn rejects_an_unknown_stop_signal() {
        assert_eq!(stop_signal("SIGINT").unwrap(), Signal::SIGINT);
        let err = stop_signal("KILL").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
    }
}
