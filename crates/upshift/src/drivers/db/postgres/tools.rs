//! pg_dump and pg_restore: where they are, which version, how they run.
//!
//! The tools are found in `bin_dir`, else on PATH, else in the newest
//! `/usr/lib/postgresql/*/bin` (Debian's layout). They get the connection
//! as options and the password only through their own `PGPASSWORD`
//! environment variable; any echo of it in their stderr is masked anyway.
//! They run in their own process group with stdin closed, so they can never
//! wait for a password prompt, and a connection attempt is limited by
//! `PGCONNECT_TIMEOUT`. There is no overall time limit: a dump of a large
//! database takes as long as it takes, and the caller is told how far it is.

use super::conn::{APPLICATION, CONNECT_TIMEOUT};
use super::Postgres;
use crate::support::error::{Context, Error, Result};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs each PostgreSQL version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";
/// How often a running tool's caller is called back.
const TICK: Duration = Duration::from_millis(200);

/// A PostgreSQL major version: `(15, 0)`, or `(9, 6)` before 10.
pub(super) type Major = (u32, u32);

/// Says a major version the way PostgreSQL does (`15`, `9.6`).
pub(super) fn show(major: Major) -> String {
    match major {
        (m, _) if m >= 10 => m.to_string(),
        (m, n) => format!("{m}.{n}"),
    }
}

/// The major version of a `server_version_num` (150010 -> 15, 90624 -> 9.6).
pub(super) fn server_major(num: i32) -> Major {
    let num = num.max(0) as u32;
    match num >= 100_000 {
        true => (num / 10_000, 0),
        false => (num / 10_000, num / 100 % 100),
    }
}

/// The major version a tool reports with `--version`.
pub(super) fn tool_major(tool: &Path) -> Result<Major> {
    let argv = [tool.display().to_string(), "--version".to_string()];
    let what = format!("cannot ask {} for its version", tool.display());
    let out = crate::support::cmd::run_ok(&argv, Path::new("/"), Duration::from_secs(30), &what)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let parsed = text
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .map(|w| {
            let mut parts = w.split(|c: char| !c.is_ascii_digit());
            let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            match major >= 10 {
                true => (major, 0),
                false => (major, minor),
            }
        });
    parsed.filter(|m| m.0 > 0).ok_or_else(|| {
        Error::failed(format!(
            "{} --version said {:?}: no version in it",
            tool.display(),
            text.trim()
        ))
    })
}

impl Postgres {
    /// The path of `pg_dump` or `pg_restore`.
    pub(super) fn tool(&self, name: &str) -> Result<PathBuf> {
        if let Some(dir) = &self.cfg.bin_dir {
            let path = dir.path().join(name);
            return match path.is_file() {
                true => Ok(path),
                false => Err(
                    Error::input(format!("{name} not found in {}", path.display()))
                        .hint("check `bin_dir` in the [database] section"),
                ),
            };
        }
        let on_path = std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.is_file());
        on_path.or_else(|| newest_debian(name)).ok_or_else(|| {
            Error::input(format!(
                "{name} not found on PATH nor in {DEBIAN_ROOT}/*/bin"
            ))
            .hint(
                "install the PostgreSQL client tools (Debian: postgresql-client), \
                 or set `bin_dir` in the [database] section",
            )
        })
    }

    /// The connection options every tool gets (never the password).
    pub(super) fn connection_args(&self, db: &str) -> Vec<OsString> {
        [
            "--host",
            &self.cfg.host,
            "--port",
            &self.cfg.port.to_string(),
            "--username",
            &self.cfg.user,
            "--dbname",
            db,
            "--no-password",
        ]
        .iter()
        .map(OsString::from)
        .collect()
    }

    /// Runs a tool to completion, calling `tick` while it runs; returns its
    /// stdout. `at` says what it was doing for the error message.
    pub(super) fn run_tool(
        &self,
        tool: &Path,
        args: &[OsString],
        at: &str,
        tick: &dyn Fn(),
    ) -> Result<Vec<u8>> {
        let password = self.configured_password()?;
        let mut command = Command::new(tool);
        command
            .args(args)
            .env("PGAPPNAME", APPLICATION)
            .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT.as_secs().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(p) = &password {
            command.env("PGPASSWORD", p.expose());
        }
        let lock = crate::support::lock::for_children();
        let spawned = crate::support::cmd::spawn(&mut command);
        drop(lock);
        let mut child = spawned.context(|| format!("{at}: cannot start {}", tool.display()))?;
        let stdout = crate::support::cmd::drain(child.stdout.take());
        let stderr = crate::support::cmd::drain(child.stderr.take());
        let mut ticked = Instant::now();
        let status =
            crate::support::cmd::wait(&mut child, &tool.display().to_string(), None, &mut || {
                if ticked.elapsed() >= TICK {
                    tick();
                    ticked = Instant::now();
                }
            })?;
        let stdout = stdout.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
        if status.success() {
            return Ok(stdout);
        }
        let mut tail = stderr.lines().rev().take(6).collect::<Vec<_>>();
        tail.reverse();
        let mut tail = tail.join("\n");
        if let Some(p) = password.filter(|p| !p.expose().is_empty()) {
            tail = tail.replace(p.expose(), "***");
        }
        Err(Error::failed(format!(
            "{at}: {} exited with {status}{}",
            tool.display(),
            match tail.is_empty() {
                true => String::new(),
                false => format!("; it said:\n{tail}"),
            }
        )))
    }
}

/// The tool in the newest `/usr/lib/postgresql/<version>/bin`.
fn newest_debian(name: &str) -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_ROOT)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<f32>().ok()?;
            let path = e.path().join("bin").join(name);
            path.is_file().then_some(((version * 10.0) as u32, path))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_compare_across_the_version_10_change() {
        assert_eq!(server_major(150010), (15, 0));
        assert_eq!(server_major(90624), (9, 6));
        assert!(server_major(90624) < server_major(100001));
        assert_eq!(show((9, 6)), "9.6");
        assert_eq!(show((16, 0)), "16");
    }

    #[test]
    fn tool_versions_are_read_from_their_output() {
        let dir = tempfile::tempdir().unwrap();
        let fake = |name: &str, said: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\necho '{said}'\n")).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            path
        };
        let old = fake("old", "pg_dump (PostgreSQL) 9.6.0");
        let new = fake("new", "pg_dump (PostgreSQL) 16.4 (Debian 16.4-1)");
        let none = fake("none", "hello");
        assert_eq!(tool_major(&old).unwrap(), (9, 6));
        assert_eq!(tool_major(&new).unwrap(), (16, 0));
        assert!(tool_major(&none)
            .unwrap_err()
            .chain()
            .contains("no version"));
    }
}
