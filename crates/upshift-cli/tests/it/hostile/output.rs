//! Issue 11, item 1: a closed stdout or stderr never aborts a run.
//!
//! `upshift upgrade --yes | head` used to panic on the broken pipe inside the
//! maintenance window, leaving the run `running` and maintenance on. Here the
//! reader really goes away: upshift's stdout (and stderr) is a pipe whose read
//! end the test closes, mid-window for a run, before the first byte for a
//! read-only command.

use super::spawned::{last_run, no_panic, Spawned};
use crate::support::{healthy_on, same_rows, serving};
use sample_server::fixture::Options;
use sample_server::manifest::Break;
use std::process::Stdio;
use std::time::Duration;
use testkit::Sample;
use upshift::engine::state::RunStatus;

/// A pipe whose read end is already closed: every write to it fails with
/// EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = nix::unistd::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

/// Asserts the newest run ended with `status`.
fn settled(sample: &Sample, status: RunStatus) {
    let (run, _) = last_run(sample).expect("a run in the journal");
    assert_eq!(run.status, status, "the run is settled: {run:?}");
}

#[test]
fn upgrade_piped_into_head_finishes_the_run() {
    let sample = Sample::started();
    let before = sample.snapshot();
    let mut upshift = Spawned::start(
        &sample,
        &["upgrade", "--yes"],
        &[],
        Stdio::piped(),
        Stdio::piped(),
    );
    upshift.close_stdout_after(|line| line.contains("(in window)"));
    let (status, stderr) = upshift.finish(Duration::from_secs(120));
    no_panic(&status, &stderr);
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");
    serving(&sample, "2026.2.0");
    same_rows(&before, &sample.snapshot());
    settled(&sample, RunStatus::Succeeded);
}

#[test]
fn failing_json_upgrade_with_stdout_and_stderr_closed_still_rolls_back() {
    let sample = Sample::new(&Options {
        brk: Some(("2026.2.0".into(), Break::Health)),
        ..Options::default()
    });
    sample.start();
    let before = sample.snapshot();
    let mut upshift = Spawned::start(
        &sample,
        &["upgrade", "--yes", "--json"],
        &[],
        Stdio::piped(),
        closed_pipe(),
    );
    upshift.close_stdout_after(|line| {
        line.contains(r#""type":"step_started""#) && line.contains(r#""step":"maintenance-on""#)
    });
    let (status, stderr) = upshift.finish(Duration::from_secs(120));
    no_panic(&status, &stderr);
    assert_eq!(status.code(), Some(1), "rolled back: exit 1");
    healthy_on(&sample, "2026.1.0", &before);
    settled(&sample, RunStatus::RolledBack);
}

#[test]
fn read_only_commands_into_a_closed_pipe_exit_quietly() {
    let sample = Sample::started();
    sample.run(&["upgrade", "--yes", "--to", "2026.2.0"], 0);
    let commands: [&[&str]; 7] = [
        &["status"],
        &["status", "--json"],
        &["history"],
        &["history", "--json"],
        &["backups", "list"],
        &["backups", "verify"],
        &["backups", "verify", "--json"],
    ];
    for args in commands {
        let upshift = Spawned::start(&sample, args, &[], closed_pipe(), Stdio::piped());
        let (status, stderr) = upshift.finish(Duration::from_secs(60));
        no_panic(&status, &stderr);
        assert!(
            matches!(status.code(), Some(0) | Some(141)),
            "upshift {args:?} into a closed pipe: {status:?}\n{stderr}"
        );
    }
}
