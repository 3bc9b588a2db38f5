//! Issue 11, item 2: SIGINT, SIGTERM and SIGHUP inside the maintenance
//! window end the run the way a failure does, journaled with the signal;
//! a second one aborts at once, journaled and resumable; child commands get
//! SIGTERM, a grace period, then SIGKILL.
//!
//! The signal is real, sent to the upshift process once the journal (or the
//! migration itself, through a marker file) shows it is inside the window.
//! The migration is a shell script that says when it started and what it
//! received.

use super::spawned::{last_run, no_panic, step_began, Spawned};
use crate::support::{edit_instance_file, healthy_on, summary};
use nix::sys::signal::Signal;
use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use testkit::{wait_until, Sample};
use upshift::engine::state::RunStatus;
use upshift::support::cmd::STOP_GRACE;

/// How the stand-in migration takes SIGTERM; either way it writes `term`
/// in its marker folder first.
#[derive(Clone, Copy)]
enum OnTerm {
    /// Exits.
    Exit,
    /// Carries on: only SIGKILL ends it.
    Outlive,
}

/// The migration's marker folder: `started` (its pid) and `term`.
fn marks(sample: &Sample) -> PathBuf {
    sample.dir().join("marks")
}

/// Replaces the sample's migration by a script that records its pid in
/// `marks/started`, takes SIGTERM as `on_term` says, and otherwise runs
/// until it is stopped.
fn slow_migration(sample: &Sample, on_term: OnTerm) {
    let marks = marks(sample);
    std::fs::create_dir_all(&marks).unwrap();
    let then = match on_term {
        OnTerm::Exit => "; exit 143",
        OnTerm::Outlive => "",
    };
    let script = sample.dir().join("migrate.sh");
    std::fs::write(
        &script,
        format!(
            "trap 'echo TERM > {marks}/term{then}' TERM\n\
             echo $$ > {marks}/started.tmp && mv {marks}/started.tmp {marks}/started\n\
             while :; do sleep 1 & wait $!; done\n",
            marks = marks.display()
        ),
    )
    .unwrap();
    edit_instance_file(
        sample,
        r#"run = ["{dir}/bin/sample-server", "migrate", "--config", "server/server.toml"]"#,
        &format!(r#"run = ["sh", "{}"]"#, script.display()),
    );
}

/// Starts `upshift upgrade --yes --json <extra>`, its stdout collected.
fn upgrade(
    sample: &Sample,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Spawned, std::thread::JoinHandle<Vec<u8>>) {
    let mut args = vec!["upgrade", "--yes", "--json", "--to", "2026.2.0"];
    args.extend_from_slice(extra);
    let mut upshift = Spawned::start(sample, &args, env, Stdio::piped(), Stdio::piped());
    let mut stdout = upshift.stdout();
    let collected = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    (upshift, collected)
}

/// Waits for the stand-in migration to have started; its pid.
fn migration_started(sample: &Sample) -> i32 {
    let started = marks(sample).join("started");
    wait_until("the migration to start", Duration::from_secs(120), || {
        started.exists()
    });
    std::fs::read_to_string(started)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Whether process `pid` is gone (or a zombie no one reaped yet).
fn gone(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.trim_start())
        .unwrap_or("");
    stat.is_empty() || state.starts_with('Z')
}

/// The newest run's status and journaled error.
fn journaled(sample: &Sample) -> (RunStatus, String) {
    let (run, _) = last_run(sample).expect("a run in the journal");
    (run.status, run.error.unwrap_or_default())
}

#[test]
fn sigterm_in_the_window_stops_the_migration_and_rolls_back() {
    let sample = Sample::started();
    let before = sample.snapshot();
    slow_migration(&sample, OnTerm::Exit);
    let (upshift, stdout) = upgrade(&sample, &[], &[]);
    migration_started(&sample);
    upshift.signal(Signal::SIGTERM);
    let (status, stderr) = upshift.finish(Duration::from_secs(120));
    no_panic(&status, &stderr);
    let summary = summary(&stdout.join().unwrap());
    assert_eq!(status.code(), Some(1), "rolled back: {summary}\n{stderr}");
    assert_eq!(summary["outcome"], "rolled_back");
    assert!(
        summary["error"]
            .as_str()
            .unwrap_or("")
            .contains("interrupted by SIGTERM"),
        "{summary}"
    );
    assert!(
        marks(&sample).join("term").exists(),
        "the migration got SIGTERM"
    );
    healthy_on(&sample, "2026.1.0", &before);
    let (run, error) = journaled(&sample);
    assert_eq!(run, RunStatus::RolledBack);
    assert!(error.contains("interrupted by SIGTERM"), "journal: {error}");
}

#[test]
fn sighup_lets_the_step_finish_then_stops_with_on_failure_stop() {
    let sample = Sample::started();
    let before = sample.snapshot();
    let (upshift, stdout) = upgrade(
        &sample,
        &["--on-failure", "stop"],
        &[("FAILPOINTS", "before-checks=sleep(4000)")],
    );
    wait_until("the checks to start", Duration::from_secs(120), || {
        step_began(&sample, "checks")
    });
    upshift.signal(Signal::SIGHUP);
    let (status, stderr) = upshift.finish(Duration::from_secs(120));
    no_panic(&status, &stderr);
    let summary = summary(&stdout.join().unwrap());
    assert_eq!(status.code(), Some(3), "stopped: {summary}\n{stderr}");
    let (run, error) = journaled(&sample);
    assert_eq!(run, RunStatus::NeedsOperator);
    assert!(error.contains("interrupted by SIGHUP"), "journal: {error}");
    let (_, steps) = last_run(&sample).unwrap();
    let checks = steps.iter().find(|s| s.name == "checks").unwrap();
    assert!(
        checks.finished_at.is_some() && checks.error.is_none(),
        "the step in flight finished: {checks:?}"
    );
    assert!(
        !steps.iter().any(|s| s.name == "maintenance-off"),
        "no step after the signal"
    );
    // The new version had started: rolling back discards what it wrote.
    sample.run(&["rollback", "--yes", "--discard-newer-data"], 1);
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn a_second_sigint_aborts_at_once_and_leaves_a_resumable_run() {
    let sample = Sample::started();
    let before = sample.snapshot();
    slow_migration(&sample, OnTerm::Outlive);
    let (upshift, _stdout) = upgrade(&sample, &[], &[]);
    let migration = migration_started(&sample);
    upshift.signal(Signal::SIGINT);
    wait_until(
        "the migration to get SIGTERM",
        Duration::from_secs(30),
        || marks(&sample).join("term").exists(),
    );
    upshift.signal(Signal::SIGINT);
    // At once: well before the migration's grace period would end.
    let (status, stderr) = upshift.finish(STOP_GRACE / 2);
    no_panic(&status, &stderr);
    assert_eq!(status.code(), Some(130), "aborted: {stderr}");
    wait_until("the migration to be killed", Duration::from_secs(5), || {
        gone(migration)
    });
    let (run, error) = journaled(&sample);
    assert_eq!(run, RunStatus::NeedsOperator);
    assert!(
        error.contains("aborted by a second SIGINT"),
        "journal: {error}"
    );
    // The new version had started: rolling back discards what it wrote.
    sample.run(&["rollback", "--yes", "--discard-newer-data"], 1);
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn a_migration_ignoring_sigterm_is_killed_after_the_grace_period() {
    let sample = Sample::started();
    let before = sample.snapshot();
    slow_migration(&sample, OnTerm::Outlive);
    let (upshift, _stdout) = upgrade(&sample, &[], &[]);
    let migration = migration_started(&sample);
    let signalled = Instant::now();
    upshift.signal(Signal::SIGTERM);
    wait_until(
        "the migration to be killed",
        Duration::from_secs(60),
        || gone(migration),
    );
    let waited = signalled.elapsed();
    assert!(marks(&sample).join("term").exists(), "SIGTERM came first");
    assert!(
        waited >= STOP_GRACE,
        "killed after {waited:?}: no grace period of {STOP_GRACE:?}"
    );
    let (status, stderr) = upshift.finish(Duration::from_secs(120));
    no_panic(&status, &stderr);
    assert_eq!(status.code(), Some(1), "rolled back: {stderr}");
    healthy_on(&sample, "2026.1.0", &before);
    let (run, error) = journaled(&sample);
    assert_eq!(run, RunStatus::RolledBack);
    assert!(error.contains("interrupted by SIGTERM"), "journal: {error}");
}

#[test]
fn a_timed_out_migration_gets_sigterm_before_sigkill() {
    let sample = Sample::started();
    let before = sample.snapshot();
    slow_migration(&sample, OnTerm::Exit);
    edit_instance_file(&sample, "timeout = \"5m\"", "timeout = \"2s\"");
    sample.run(&["upgrade", "--yes", "--to", "2026.2.0"], 1);
    assert!(
        marks(&sample).join("term").exists(),
        "the migration got SIGTERM"
    );
    healthy_on(&sample, "2026.1.0", &before);
}
