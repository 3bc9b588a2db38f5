//! A supervised server that dies or is started behind upshift's back
//! (issue 11, items 5 and 8e): the operator gets `upshift service`, a dead
//! server counts as stopped, and a server spawned by an upshift killed
//! before it wrote the pidfile is never left running untracked.

use crate::support::{healthy_on, serving};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::{wait_until, Sample};

/// Writes the shell script `text` as `name` in the sample's folder.
fn script(sample: &Sample, name: &str, text: &str) -> PathBuf {
    let path = sample.dir().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{text}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A script that SIGKILLs the sample server, as a crash would.
fn server_killer(sample: &Sample, also: &str) -> PathBuf {
    let pidfile = sample.dir().join("run/server.pid");
    script(
        sample,
        "kill-server.sh",
        &format!("kill -9 $(cut -d' ' -f1 {})\n{also}", pidfile.display()),
    )
}

/// Replaces `from` (which must be there) in the instance file.
fn edit(sample: &Sample, from: &str, to: &str) {
    let file = &sample.fx.instance_file;
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "the instance file has no `{from}`");
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// `upshift upgrade --yes` with the failpoint setting `failpoints`.
fn upgrade_with(sample: &Sample, failpoints: &str) -> std::process::Output {
    sample
        .upshift()
        .args(["upgrade", "--yes"])
        .env("FAILPOINTS", failpoints)
        .output()
        .unwrap()
}

/// Whether `upshift service status --json` says the service runs.
fn service_running(sample: &Sample) -> bool {
    let out = sample.run(&["service", "status", "--json"], 0);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    line["nodes"][0]["running"]
        .as_bool()
        .unwrap_or_else(|| panic!("no nodes[0].running in {line}"))
}

/// Live processes of the sample's server binary working in its folder.
fn server_processes(dir: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let exe = std::fs::read_link(entry.path().join("exe")).unwrap_or_default();
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if exe.ends_with("sample-server") && cwd == dir {
            pids.push(pid);
        }
    }
    pids
}

/// Kills every server process of the sample's folder when dropped, tracked
/// or not, so a failing test leaves nothing behind.
struct KillAll(PathBuf);

impl Drop for KillAll {
    fn drop(&mut self) {
        for pid in server_processes(&self.0) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// The server dies in the window before `stop`, so maintenance cannot be
/// turned off again and every `rollback` fails the same way (exit 3).
/// `upshift service start` is the way out: then the rollback finishes.
#[test]
fn a_server_that_died_before_stop_is_started_again_by_upshift_service() {
    let sample = Sample::started();
    let before = sample.snapshot();
    // The drain gives up on the dead server after 1 s, not 60 s.
    edit(&sample, "timeout = \"60s\"", "timeout = \"1s\"");
    let killer = server_killer(&sample, "");
    let out = upgrade_with(
        &sample,
        &format!("before-drain=return(run:{})", killer.display()),
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sample.run(&["rollback", "--yes"], 3);
    assert!(!service_running(&sample));

    let out = sample.run(&["service", "start", "--json"], 0);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["action"], "start", "{line}");
    assert!(service_running(&sample));
    serving_in_maintenance(&sample);

    sample.run(&["rollback", "--yes"], 1);
    healthy_on(&sample, "2026.1.0", &before);
    assert!(service_running(&sample));

    let out = sample.run(&["history", "--json"], 0);
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let start = history["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["action"] == "service start")
        .unwrap_or_else(|| panic!("`service start` is not journaled: {history}"));
    assert_eq!(start["outcome"], "done", "{start}");
}

/// The sample answers, on the old version, still in maintenance.
fn serving_in_maintenance(sample: &Sample) {
    assert_eq!(sample.get("/api").1["Version"], "2026.1.0");
    assert_eq!(sample.get("/api/health").0, 200);
}

/// `service stop` while a run holds the instance is refused (exit 2),
/// naming the run, and stops nothing.
#[test]
fn upshift_service_is_refused_while_a_run_holds_the_lock() {
    let sample = Sample::started();
    let waiting = sample.dir().join("waiting");
    let go = sample.dir().join("go");
    let hold = script(
        &sample,
        "hold.sh",
        &format!(
            "touch {}\nwhile [ ! -e {} ]; do sleep 0.05; done",
            waiting.display(),
            go.display()
        ),
    );
    let mut upgrade = std::process::Command::new(assert_cmd::cargo::cargo_bin("upshift"))
        .arg("-c")
        .arg(&sample.fx.instance_file)
        .args(["upgrade", "--yes"])
        .env(
            "FAILPOINTS",
            format!("before-drain=return(run:{})", hold.display()),
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _release = Release(go.clone());
    wait_until(
        "the run to reach the drain",
        Duration::from_secs(60),
        || waiting.exists(),
    );
    let run_id = upshift::engine::state::State::open(&sample.state_dir())
        .unwrap()
        .unfinished_run()
        .unwrap()
        .expect("a run in progress")
        .id;
    for action in ["stop", "start"] {
        let out = sample.run(&["service", action], 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&run_id), "{action}: {stderr}");
    }
    assert!(service_running(&sample), "status is allowed and says so");
    std::fs::write(&go, "").unwrap();
    assert_eq!(upgrade.wait().unwrap().code(), Some(0));
    serving(&sample, "2026.2.0");
}

/// Creates the file the held run waits for when dropped, so a failing
/// test never leaves that run waiting.
struct Release(PathBuf);

impl Drop for Release {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, "");
    }
}

/// The server and upshift both die at `stop` (a power cut); finishing the
/// run with `command` finds the service already stopped, which is success.
fn dead_before_stop_then(command: &[&str], code: i32, version: &str) {
    let sample = Sample::started();
    let before = sample.snapshot();
    let killer = server_killer(&sample, "kill -9 $PPID");
    let out = upgrade_with(
        &sample,
        &format!("before-stop=return(run:{})", killer.display()),
    );
    assert_eq!(out.status.signal(), Some(9), "upshift was not killed");
    sample.run(command, code);
    serving(&sample, version);
    crate::support::same_rows(&before, &sample.snapshot());
}

#[test]
fn a_server_dead_before_stop_is_stopped_for_resume() {
    dead_before_stop_then(&["resume"], 0, "2026.2.0");
}

#[test]
fn a_server_dead_before_stop_is_stopped_for_rollback() {
    dead_before_stop_then(&["rollback", "--yes"], 1, "2026.1.0");
}

/// upshift is killed between spawning the new server and writing its
/// pidfile: no server may be left running untracked, and `resume` ends
/// with exactly one server, the one the pidfile names.
#[test]
fn a_server_spawned_before_a_kill_is_never_left_untracked() {
    let sample = Sample::started();
    let _kill_all = KillAll(sample.dir().to_path_buf());
    let out = upgrade_with(&sample, "service-spawned=return(kill)");
    assert_eq!(
        out.status.signal(),
        Some(9),
        "upshift was not killed between spawn and pidfile"
    );
    let tracked = || -> Option<i32> {
        let text = std::fs::read_to_string(sample.dir().join("run/server.pid")).ok()?;
        text.split_whitespace().next()?.parse().ok()
    };
    // Whatever still runs of the server is named by the pidfile.
    wait_until(
        "every server process to be tracked",
        Duration::from_secs(10),
        || {
            server_processes(sample.dir())
                .into_iter()
                .all(|pid| Some(pid) == tracked())
        },
    );
    sample.run(&["resume"], 0);
    serving(&sample, "2026.2.0");
    assert_eq!(
        server_processes(sample.dir()),
        tracked().into_iter().collect::<Vec<_>>(),
        "exactly one server runs, and the pidfile names it"
    );
}
