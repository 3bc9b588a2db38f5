//! Running the commands an instance file names.
//!
//! Commands are argv vectors, never a shell string: arguments are passed as
//! they are. Secrets reach a command through the environment it is given,
//! never through argv; the variables the instance file reads secrets from
//! are not inherited (see `child_env.rs`). Every command has a deadline; on
//! expiry its whole process group is stopped, so a hung helper cannot hang
//! a maintenance window.
//!
//! Stopping is one mechanism, for a deadline and for an interrupt (a signal
//! asked the run to end, see [`interrupt`]): SIGTERM to the command's
//! process group, [`STOP_GRACE`] for it to clean up and exit, then SIGKILL
//! to whatever is left of the group. A migration that traps SIGTERM can
//! roll its transaction back; one that ignores it cannot hold the run.

use crate::support::error::{Context, Error, Result};
use crate::support::interrupt;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a command has, after SIGTERM, before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// What a finished command left behind.
#[derive(Debug)]
pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// The last lines of stderr, for an error message.
    pub fn stderr_tail(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        crate::support::redact::redact(&lines.into_iter().rev().collect::<Vec<_>>().join("\n"))
    }

    /// This output if the command exited 0; else an error saying `what`
    /// failed, with the exit status and the stderr tail.
    pub fn ok(self, argv: &[String], what: &str) -> Result<Output> {
        if self.status.success() {
            return Ok(self);
        }
        Err(Error::failed(format!(
            "{what}: `{}` exited with {}{}",
            argv[0],
            self.status,
            match self.stderr_tail() {
                t if t.is_empty() => String::new(),
                t => format!("; stderr:\n{t}"),
            }
        )))
    }
}

/// What a command reads on stdin: bytes, or a file streamed as it is read.
pub type Input = Box<dyn Read + Send>;

/// Runs `argv` in `cwd`, waits at most `timeout`, captures its output.
pub fn run(argv: &[String], cwd: &Path, timeout: Duration) -> Result<Output> {
    run_with_env(argv, cwd, timeout, &[])
}

/// [`run`] with `env` added to the inherited environment (how secrets
/// reach a command: never through argv).
pub fn run_with_env(
    argv: &[String],
    cwd: &Path,
    timeout: Duration,
    env: &[(String, String)],
) -> Result<Output> {
    let mut command = prepare(argv, cwd)?;
    command.envs(env.iter().map(|(k, v)| (k, v)));
    run_command(command, None, timeout, true)
}

/// `argv` as a command to run in `cwd`.
fn prepare(argv: &[String], cwd: &Path) -> Result<Command> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::input("empty command line"))?;
    let mut command = Command::new(program);
    command.args(args).current_dir(cwd);
    Ok(command)
}

/// Runs a prepared `command` (its program and arguments set), feeding it
/// `input` on stdin, waits at most `timeout`, captures its output. With
/// `lend_lock` it inherits the instance lock, so that a run cannot be
/// resumed while it still works; helpers such as `ssh`, which may leave a
/// connection master running after them, must not.
pub fn run_command(
    mut command: Command,
    input: Option<Input>,
    timeout: Duration,
    lend_lock: bool,
) -> Result<Output> {
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .stdin(match input {
            Some(_) => Stdio::piped(),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let spawned = match lend_lock {
        true => {
            let _lent = crate::support::lock::for_children();
            spawn(&mut command)
        }
        false => crate::support::lock::unlent(|| spawn(&mut command)),
    };
    let mut child = spawned.context(|| format!("cannot start `{program}`"))?;
    let feeder = child.stdin.take().zip(input).map(|(mut stdin, mut input)| {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut input, &mut stdin);
        })
    });
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait(&mut child, &program, Some(timeout), &mut || {})?;
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Waits for `child`, the leader of its own process group, calling `tick`
/// while it runs. It is stopped (see [`stop`]) when `timeout` passes or a
/// signal asks the run to end; either is an error naming `program`.
pub fn wait(
    child: &mut Child,
    program: &str,
    timeout: Option<Duration>,
    tick: &mut dyn FnMut(),
) -> Result<ExitStatus> {
    let _watched = interrupt::watch(child.id() as i32);
    let deadline = timeout.map(|t| Instant::now() + t);
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .context(|| format!("waiting for `{program}`"))?
        {
            break status;
        }
        if let Some(signal) = interrupt::stopping() {
            stop(child);
            return Err(
                Error::failed(format!("interrupted by {signal}: `{program}` was stopped"))
                    .hint("upshift was asked to stop; `upshift status` shows where the run ended"),
            );
        }
        if let (Some(deadline), Some(timeout)) = (deadline, timeout) {
            if Instant::now() >= deadline {
                stop(child);
                return Err(Error::failed(format!(
                    "`{program}` did not finish within {}",
                    humantime::format_duration(timeout)
                ))
                .hint("raise the timeout in the instance file if it is just slow"));
            }
        }
        tick();
        std::thread::sleep(Duration::from_millis(5));
    };
    interrupt::hold_if_aborted();
    Ok(status)
}

/// Ends `child` and its process group: SIGTERM, up to [`STOP_GRACE`] for
/// it to exit, then SIGKILL for the group's stragglers (or the child).
fn stop(child: &mut Child) {
    let group = Pid::from_raw(child.id() as i32);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + STOP_GRACE;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
    interrupt::hold_if_aborted();
}

/// Runs `argv` and fails unless it exits 0. `what` names it in errors.
pub fn run_ok(argv: &[String], cwd: &Path, timeout: Duration, what: &str) -> Result<Output> {
    run(argv, cwd, timeout)?.ok(argv, what)
}

/// [`run_ok`] for a command that may leave a process running after it (a
/// service's start command, its hooks): it does not inherit the instance
/// lock, which that process would otherwise hold after upshift ends.
pub fn run_ok_unlent(argv: &[String], cwd: &Path, timeout: Duration, what: &str) -> Result<Output> {
    run_command(prepare(argv, cwd)?, None, timeout, false)?.ok(argv, what)
}

/// Reads a pipe to its end in a thread.
pub(crate) fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// Spawns `command` without the withheld variables, retrying for a moment
/// while its program is "text file busy": a binary just unpacked can be held
/// open for writing by a child that another thread forked before it could
/// exec (and close the file).
pub fn spawn(command: &mut Command) -> std::io::Result<std::process::Child> {
    crate::support::child_env::apply(command);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match command.spawn() {
            Err(e)
                if e.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timed_out_command_gets_sigterm_first_and_may_clean_up() {
        let dir = tempfile::tempdir().unwrap();
        let argv: Vec<String> = [
            "sh",
            "-c",
            "trap 'echo cleaned > term; exit 143' TERM; sleep 30 & wait $!",
        ]
        .map(String::from)
        .into();
        let started = Instant::now();
        let error = run(&argv, dir.path(), Duration::from_millis(300)).unwrap_err();
        assert!(
            error.to_string().contains("did not finish within"),
            "{error}"
        );
        assert!(
            started.elapsed() < STOP_GRACE,
            "it ended on SIGTERM, without waiting out the grace"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("term")).unwrap(),
            "cleaned\n"
        );
    }
}
