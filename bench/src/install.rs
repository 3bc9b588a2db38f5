//! A seeded sample installation and the hand-run runbook beside it.
//!
//! The installation is laid out once per database size by the sample
//! server's fixture (through testkit's `Sample`, which kills the server it
//! names when dropped) and filled with the sample server's own generator
//! (`sample-server seed --target-mb`). Between measurements it is put back
//! to its starting point ([`Install::reset`]): `current` on the first
//! release, the staged release and upshift's state folder gone, the server
//! stopped.
//!
//! Servers are started by `runbook.sh start`, a shell that exits at once,
//! so the server is never a child of the benchmark: the hand-run `kill` +
//! wait and upshift's stop see it exit the same way.

use crate::cli::timed;
use crate::Result;
use sample_server::fixture::Options;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::Sample;

/// The runbook done by hand (see the script's header).
const RUNBOOK: &str = include_str!("runbook.sh");

/// Payload bytes per seeded project: large enough that PostgreSQL keeps
/// payloads out of line (TOAST), so migration 2's slug backfill rewrites
/// small rows, as a real schema change touching one narrow column would.
const PAYLOAD_BYTES: &str = "8000";

/// The release installed first and the one upgraded to.
pub const FROM: &str = "2026.1.0";
pub const TO: &str = "2026.2.0";

/// A seeded installation.
#[derive(Debug)]
pub struct Install {
    pub sample: Sample,
    /// The instance file as written after seeding.
    pub instance_toml: String,
    /// Environment for `runbook.sh`.
    pub env: Vec<(String, String)>,
}

/// What `runbook.sh` printed: `phase <name> <ms>` lines and totals.
#[derive(Debug, Default)]
pub struct Timings {
    pub phases: BTreeMap<String, u64>,
    pub totals: BTreeMap<String, u64>,
}

impl Install {
    /// Lays out an installation with `options` and seeds it to `mb` MiB.
    pub fn seeded(sample: Sample, mb: u64) -> Result<Install> {
        let dir = sample.dir().to_path_buf();
        let started = Instant::now();
        timed(
            Command::new(dir.join("server/current/bin/sample-server"))
                .current_dir(&dir)
                .args(["seed", "--config", "server/server.toml"])
                .args(["--payload-bytes", PAYLOAD_BYTES])
                .args(["--target-mb", &mb.to_string()]),
        )?;
        eprintln!(
            "  seeded {mb} MiB in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        std::fs::write(dir.join("runbook.sh"), RUNBOOK)?;
        let instance_toml = std::fs::read_to_string(&sample.fx.instance_file)?;
        Ok(Install {
            sample,
            instance_toml,
            env: Vec::new(),
        })
    }

    /// The fixture options every installation of the benchmark uses: no
    /// seeded projects (the size comes from `--target-mb`).
    pub fn options() -> Options {
        Options {
            projects: 0,
            ..Options::default()
        }
    }

    pub fn dir(&self) -> &Path {
        self.sample.dir()
    }

    /// Sets the number of projects the instance file's SQL check expects
    /// (the fixture wrote the count it seeded, 0).
    pub fn expect_projects(&mut self, projects: i64) -> Result<()> {
        let before = "\nequals = 0\n";
        if !self.instance_toml.contains(before) {
            return Err("the fixture's `projects intact` check changed shape".into());
        }
        self.instance_toml = self
            .instance_toml
            .replace(before, &format!("\nequals = {projects}\n"));
        Ok(())
    }

    /// Writes `text` as the instance file.
    pub fn write_instance(&self, text: &str) -> Result<()> {
        std::fs::write(&self.sample.fx.instance_file, text)?;
        Ok(())
    }

    /// Back to the starting point, with the server stopped: `current` on
    /// the first release, no staged release, no upshift state.
    pub fn reset(&self) -> Result<()> {
        self.stop()?;
        let root = self.dir().join("server");
        let current = root.join("current");
        std::fs::remove_file(&current)?;
        std::os::unix::fs::symlink(Path::new("versions").join(FROM), &current)?;
        remove_dir(&root.join("versions").join(TO))?;
        remove_dir(&self.sample.state_dir())?;
        Ok(())
    }

    /// Runs `runbook.sh <mode>` and returns what it measured.
    pub fn runbook(&self, mode: &str) -> Result<Timings> {
        self.script("runbook.sh", mode)
    }

    /// Runs the script `name` (in the installation's folder) with `mode`
    /// and returns what it measured (`phase <name> <ms>` and total lines).
    pub fn script(&self, name: &str, mode: &str) -> Result<Timings> {
        let out = Command::new("bash")
            .arg(name)
            .arg(mode)
            .current_dir(self.dir())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "{name} {mode} failed with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let mut timings = Timings::default();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields[..] {
                ["phase", name, ms] => {
                    timings.phases.insert(name.to_string(), ms.parse()?);
                }
                [total, ms] => {
                    timings.totals.insert(total.to_string(), ms.parse()?);
                }
                _ => {}
            }
        }
        Ok(timings)
    }

    /// Starts the installed version and waits until it is healthy.
    pub fn start(&self) -> Result<()> {
        self.runbook("start").map(drop)
    }

    /// Stops the server the pidfile names, if it runs: SIGTERM, then
    /// SIGKILL after 10 s. The pidfile's start time must match, so a reused
    /// pid is never signalled.
    pub fn stop(&self) -> Result<()> {
        let pidfile = self.dir().join("run/server.pid");
        let Ok(text) = std::fs::read_to_string(&pidfile) else {
            return Ok(());
        };
        let mut fields = text.split_whitespace();
        let (Some(pid), Some(start)) = (fields.next(), fields.next()) else {
            return Ok(());
        };
        if proc_stat(pid).get(19).map(String::as_str) == Some(start) {
            for (signal, wait) in [("-TERM", 10), ("-KILL", 5)] {
                let _ = Command::new("kill").args([signal, pid]).status();
                let deadline = Instant::now() + Duration::from_secs(wait);
                while alive(pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if !alive(pid) {
                    break;
                }
            }
            if alive(pid) {
                return Err(format!("the sample server (pid {pid}) does not exit").into());
            }
        }
        std::fs::remove_file(&pidfile)?;
        Ok(())
    }
}

/// The fields of `/proc/<pid>/stat` after the command name (state first).
fn proc_stat(pid: &str) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    after_name.split_whitespace().map(str::to_string).collect()
}

/// Whether `pid` runs; a zombie (exited, not yet reaped) does not.
fn alive(pid: &str) -> bool {
    proc_stat(pid)
        .first()
        .is_some_and(|state| state.as_str() != "Z")
}

fn remove_dir(dir: &PathBuf) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
