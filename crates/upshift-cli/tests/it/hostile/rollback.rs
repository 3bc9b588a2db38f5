//! Going back after a crash, as an operator meets it: what users wrote is
//! not dropped without a word, consumed snapshots do not poison the
//! catalog, a killed backup leaves nothing behind, and the report of a
//! crashed-then-finished run tells the whole truth (its window, the
//! server's last words, the same step numbers as `status`).

use crate::rollback::queue_task;
use crate::support::{all_files, json_lines, rolled_back, serving, summary};
use sample_server::fixture::Options;
use sample_server::manifest::Break;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::time::SystemTime;
use testkit::{PgCluster, Sample};
use upshift::engine::state::{BackupKind, State};

/// Runs `upgrade --yes` killed (SIGKILL) at `failpoint`.
fn killed_at(sample: &Sample, failpoint: &str) {
    let out = sample
        .upshift()
        .env("FAILPOINTS", format!("{failpoint}=return(kill)"))
        .args(["upgrade", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tasks(sample: &Sample) -> serde_json::Value {
    sample
        .instance()
        .db
        .query_scalar("SELECT count(*) FROM tasks")
        .unwrap()
}

/// Killed in `checks` with no maintenance mode, the new version kept
/// serving and users wrote to it: `rollback` refuses to drop that without
/// `--discard-newer-data`, exactly as after a succeeded run.
#[test]
fn rolling_back_a_crashed_run_keeps_what_users_wrote_unless_told() {
    let sample = Sample::started();
    let text = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    let (head, rest) = text.split_once("[maintenance]").unwrap();
    let drain = rest.find("[drain]").unwrap();
    std::fs::write(
        &sample.fx.instance_file,
        format!("{head}[maintenance]\nkind = \"none\"\n\n{}", &rest[drain..]),
    )
    .unwrap();
    killed_at(&sample, "before-checks");
    serving(&sample, "2026.2.0");
    queue_task(&sample, 1);
    let written = tasks(&sample);

    let out = sample.run(&["rollback", "--yes"], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--discard-newer-data"), "{stderr}");
    serving(&sample, "2026.2.0");
    assert_eq!(
        tasks(&sample),
        written,
        "the refused rollback changed nothing"
    );

    sample.run(&["rollback", "--yes", "--discard-newer-data"], 1);
    serving(&sample, "2026.1.0");
}

/// A PostgreSQL snapshot restored by renaming it back is consumed: it is
/// marked so, `backups verify` skips it, `backups prune` does not count it
/// toward `keep_db` (and so keeps the good dump), `backups list` says so.
#[test]
fn a_consumed_snapshot_is_kept_out_of_verify_and_prune() {
    let cluster = PgCluster::start();
    let options = Options {
        brk: Some(("2026.2.0".into(), Break::Migration)),
        ..Options::default()
    };
    let sample = Sample::postgres(&cluster, "it_hostile_consumed", "snapshot", &options);
    sample.start();
    let text = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    std::fs::write(
        &sample.fx.instance_file,
        format!("{text}\n[backups]\nkeep_db = 1\n"),
    )
    .unwrap();
    // A snapshot strategy backs up with the service stopped.
    let inst = sample.instance();
    inst.nodes[0].stop().unwrap();
    sample.run(&["backup", "db"], 0);
    sample.start();
    let state = State::open(&sample.state_dir()).unwrap();
    let good = state.backups(Some(BackupKind::Db)).unwrap()[0].clone();
    let failed = rolled_back(&sample, &[]);
    let run_id = failed["run_id"].as_str().unwrap();

    sample.run(&["backups", "verify"], 0);
    let listed = sample.run(&["backups", "list", "--json"], 0);
    let listed = &json_lines(&listed.stdout)[0]["backups"];
    let snapshot = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["run_id"] == run_id)
        .unwrap_or_else(|| panic!("the run's snapshot in {listed}"));
    assert!(snapshot["consumed_at"].is_string(), "{snapshot}");
    let plain = sample.run(&["backups", "list"], 0);
    assert!(
        String::from_utf8_lossy(&plain.stdout).contains("consumed"),
        "{}",
        String::from_utf8_lossy(&plain.stdout)
    );

    sample.run(&["backups", "prune"], 0);
    let kept: Vec<i64> = state
        .backups(Some(BackupKind::Db))
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    assert!(
        kept.contains(&good.id),
        "the good backup was pruned: {kept:?}"
    );
    sample.run(&["backups", "verify"], 0);
}

/// A `backup-db` killed mid-copy leaves a `.db-*.bak.tmp`; finishing the
/// run (either way) removes it.
#[test]
fn a_killed_database_backup_leaves_no_temporary_file() {
    for (command, code) in [(["resume", "--json"], 0), (["rollback", "--yes"], 1)] {
        let sample = Sample::started();
        killed_at(&sample, "db-backup-copy");
        let partial = |sample: &Sample| -> Vec<_> {
            all_files(&sample.state_dir())
                .into_iter()
                .filter(|p| p.to_string_lossy().contains(".bak.tmp"))
                .collect()
        };
        assert!(!partial(&sample).is_empty(), "the kill left a partial copy");
        sample.run(&command, code);
        assert_eq!(
            partial(&sample),
            Vec::<std::path::PathBuf>::new(),
            "after {command:?}"
        );
    }
}

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).unwrap()
}

/// The window of a run killed inside it and resumed is the whole window,
/// from the journaled `maintenance-on` to `maintenance-off`, across the two
/// processes; `history` says the same.
#[test]
fn a_resumed_runs_window_counts_both_processes() {
    let sample = Sample::started();
    killed_at(&sample, "after-migrate");
    let out = sample.run(&["resume", "--json"], 0);
    let window_ms = summary(&out.stdout)["window_ms"].as_u64().unwrap();
    let state = State::open(&sample.state_dir()).unwrap();
    let run = &state.runs(1).unwrap()[0];
    let steps = state.steps(&run.id).unwrap();
    let step = |name: &str| steps.iter().find(|s| s.name == name).unwrap();
    let journaled = at(step("maintenance-off").finished_at.as_deref().unwrap())
        .duration_since(at(&step("maintenance-on").started_at))
        .unwrap()
        .as_millis() as u64;
    assert!(
        window_ms + 5 >= journaled,
        "reported {window_ms} ms, the journal says {journaled} ms"
    );
    let history = sample.run(&["history", "--json"], 0);
    let line = &json_lines(&history.stdout)[0];
    assert!(
        line.to_string()
            .contains(&format!("\"window_ms\":{window_ms}")),
        "{line}"
    );
}

/// A rollback whose own start fails (here after a crash mid-rollback and
/// an old binary that no longer starts) still shows the server's last log
/// lines in the final error, not only the step's name.
#[test]
fn the_final_error_keeps_the_servers_last_words_after_a_rollback() {
    let sample = Sample::new(&Options {
        brk: Some(("2026.2.0".into(), Break::Health)),
        ..Options::default()
    });
    sample.start();
    killed_at(&sample, "before-undo-stop");
    let old = sample
        .dir()
        .join("server/versions/2026.1.0/bin/sample-server");
    std::fs::remove_file(&old).unwrap();
    std::fs::write(
        &old,
        "#!/bin/sh\necho 'fatal: licence file unreadable' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sample.run(&["rollback", "--yes"], 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rollback failed in undo-stop"), "{stderr}");
    assert!(
        stderr.contains("fatal: licence file unreadable"),
        "{stderr}"
    );
    let out = sample.run(&["rollback", "--yes", "--json"], 3);
    let summary = summary(&out.stdout);
    assert!(
        summary
            .to_string()
            .contains("fatal: licence file unreadable"),
        "{summary}"
    );
}

/// The numbers a run prints for its steps, undos included, are those
/// `status` shows for the same steps.
#[test]
fn step_numbers_are_the_same_in_the_run_and_in_status() {
    let sample = Sample::new(&Options {
        brk: Some(("2026.2.0".into(), Break::Health)),
        ..Options::default()
    });
    sample.start();
    let out = sample.run(&["upgrade", "--yes"], 1);
    let printed: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix('['))
        .filter_map(|l| {
            let (number, rest) = l.split_once(']')?;
            let number = number.split('/').next()?.to_string();
            Some((rest.split_whitespace().next()?.to_string(), number))
        })
        .collect();
    assert!(printed.contains_key("undo-start"), "{printed:?}");
    let status = sample.run(&["status"], 0);
    let shown: BTreeMap<String, String> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let number = words.next()?;
            number.parse::<usize>().ok()?;
            Some((words.next()?.to_string(), number.to_string()))
        })
        .collect();
    for (step, number) in &printed {
        assert_eq!(
            shown.get(step),
            Some(number),
            "step {step}: the run printed {number}, status shows {:?}",
            shown.get(step)
        );
    }
}
