//! An `upshift` process the test holds on to, for the faults that need one
//! while it works: a pipe closed under it, a signal sent to it.
//!
//! Design decisions: stdin is closed as in `Sample::upshift`; whatever the
//! test does not read of stderr is drained by a thread, so upshift never
//! blocks on a full pipe; waiting for its end has a deadline; the journal
//! is read through the state database, as `upshift status` does.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use testkit::Sample;
use upshift::engine::state::{RunRecord, State, StepRecord};

/// A running `upshift -c <instance file> <args>`.
pub struct Spawned {
    child: Child,
    stderr: Option<JoinHandle<String>>,
}

impl Spawned {
    /// Starts `upshift <args>` with `env` added, its stdout and stderr as given
    /// (a pipe's read end stays with the test; `Stdio::piped()` stderr is
    /// collected).
    pub fn start(
        sample: &Sample,
        args: &[&str],
        env: &[(&str, &str)],
        stdout: Stdio,
        stderr: Stdio,
    ) -> Spawned {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("upshift"))
            .arg("-c")
            .arg(&sample.fx.instance_file)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start upshift");
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        });
        Spawned { child, stderr }
    }

    /// Reads stdout line by line until `until` holds for a line, then
    /// closes the pipe: the reader of `upshift ... | head` going away.
    pub fn close_stdout_after(&mut self, until: impl Fn(&str) -> bool) -> Vec<String> {
        let stdout = self.child.stdout.take().expect("stdout is a pipe");
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read upshift's stdout");
            let done = until(&line);
            seen.push(line);
            if done {
                return seen;
            }
        }
        panic!(
            "upshift ended its output before the expected line:\n{}",
            seen.join("\n")
        );
    }

    /// Sends `signal` to upshift.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal upshift");
    }

    /// Waits at most `limit` for upshift to end; its exit status and what
    /// it wrote on stderr (if the test let it be collected).
    pub fn finish(mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for upshift") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("upshift did not end within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        (status, stderr)
    }

    /// The upshift process's stdout, for a test that reads it all.
    pub fn stdout(&mut self) -> std::process::ChildStdout {
        self.child.stdout.take().expect("stdout is a pipe")
    }
}

/// The newest run in the journal and its steps.
pub fn last_run(sample: &Sample) -> Option<(RunRecord, Vec<StepRecord>)> {
    let state = State::open(&sample.state_dir()).ok()?;
    let run = state.runs(1).ok()?.into_iter().next()?;
    let steps = state.steps(&run.id).ok()?;
    Some((run, steps))
}

/// Whether the journal shows `step` of the newest run as started.
pub fn step_began(sample: &Sample, step: &str) -> bool {
    last_run(sample).is_some_and(|(_, steps)| steps.iter().any(|s| s.name == step))
}

/// Asserts that upshift ended on its own, without a panic.
pub fn no_panic(status: &ExitStatus, stderr: &str) {
    assert_ne!(status.code(), Some(101), "upshift panicked:\n{stderr}");
    assert!(!stderr.contains("panicked"), "upshift panicked:\n{stderr}");
}
