//! The fault matrix: upshift is SIGKILLed (like `kill -9` or a power cut) at
//! every step boundary and inside the backup, the switch and the restore,
//! then the run is finished with `resume` and, separately, with `rollback`.
//! Either way the server must end healthy, on the new version with its
//! migrated data (resume) or on the old version with the data it had before
//! (rollback), every project and every secret intact. `rollback` is given
//! `--discard-newer-data`: past `start` the new version may have written,
//! and it is asked for (docs/recovery.md).
//!
//! Every point runs on SQLite and on PostgreSQL (the `snapshot` strategy,
//! whose restore renames a sealed snapshot in and must be repeatable after
//! a crash). The failpoints are compiled into the binary only for tests
//! (the `failpoints` feature); `FAILPOINTS=<point>=return(kill)` makes
//! upshift SIGKILL itself there.

use crate::support::{kill_at, same_rows, serving, summary};
use sample_server::fixture::Options;
use sample_server::manifest::Break;
use testkit::{PgCluster, Sample};

/// Starts an upgrade to 2026.2.0 that dies at `point`, on SQLite or, with
/// `pg`, in a new database of that cluster. With `brk`, the release's health
/// check fails, so the run is rolling back when it dies.
fn killed_at(
    point: &str,
    brk: Option<Break>,
    pg: Option<(&PgCluster, &str)>,
) -> (Sample, sample_server::data::Snapshot) {
    let options = Options {
        brk: brk.map(|b| ("2026.2.0".into(), b)),
        ..Options::default()
    };
    let sample = match pg {
        Some((cluster, db)) => Sample::postgres(cluster, db, "snapshot", &options),
        None => Sample::new(&options),
    };
    sample.start();
    let before = sample.snapshot();
    kill_at(&sample, point, &["upgrade", "--yes", "--to", "2026.2.0"]);
    (sample, before)
}

/// Runs `upshift <command> --json` after the kill and checks where the
/// server ended.
fn finish(
    sample: &Sample,
    before: &sample_server::data::Snapshot,
    command: &[&str],
    version: &str,
) {
    let out = sample
        .upshift()
        .args(command)
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = summary(&out.stdout);
    let expected_code = if version == "2026.2.0" { 0 } else { 1 };
    assert_eq!(
        out.status.code(),
        Some(expected_code),
        "{command:?}: {summary}\n{stderr}"
    );
    assert_eq!(
        sample.get("/api").1["Version"],
        version,
        "{command:?}: {summary}"
    );
    serving(sample, version);
    let after = sample.snapshot();
    same_rows(before, &after);
    assert_eq!(
        after.schema_version,
        if version == "2026.2.0" { 2 } else { 1 }
    );
    let history = upshift::engine::state::State::open(&sample.state_dir())
        .unwrap()
        .history()
        .unwrap();
    let installs: Vec<(&str, &str)> = history
        .iter()
        .map(|h| (h.from.as_str(), h.to.as_str()))
        .collect();
    let expected: &[(&str, &str)] = if version == "2026.2.0" {
        &[("2026.1.0", "2026.2.0")]
    } else {
        &[]
    };
    assert_eq!(
        installs, expected,
        "{command:?}: the history shows what is installed"
    );
    let status = sample
        .upshift()
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_ne!(
        status["last_run"]["status"], "running",
        "the run is settled"
    );
    assert_ne!(
        status["last_run"]["status"], "needs_operator",
        "the run is settled"
    );
}

macro_rules! fault_matrix {
    ($brk:expr, $resume_ends_on:expr; $($name:ident => $point:expr),+ $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[test]
                fn then_resume() {
                    let (sample, before) = killed_at($point, $brk, None);
                    finish(&sample, &before, &["resume"], $resume_ends_on);
                }

                #[test]
                fn then_rollback() {
                    let (sample, before) = killed_at($point, $brk, None);
                    finish(&sample, &before, &["rollback", "--yes", "--discard-newer-data"], "2026.1.0");
                }

                #[test]
                fn then_resume_on_postgres() {
                    let cluster = PgCluster::start();
                    let db = concat!("fm_", stringify!($name), "_resume");
                    let (sample, before) = killed_at($point, $brk, Some((&cluster, db)));
                    finish(&sample, &before, &["resume"], $resume_ends_on);
                }

                #[test]
                fn then_rollback_on_postgres() {
                    let cluster = PgCluster::start();
                    let db = concat!("fm_", stringify!($name), "_rollback");
                    let (sample, before) = killed_at($point, $brk, Some((&cluster, db)));
                    finish(&sample, &before, &["rollback", "--yes", "--discard-newer-data"], "2026.1.0");
                }
            }
        )+
    };
}

/// Killed on the way up: resume finishes the upgrade.
mod upgrading {
    use super::*;

    fault_matrix! { None, "2026.2.0";
        before_preflight => "before-preflight",
        after_preflight => "after-preflight",
        before_backup_keys => "before-backup-keys",
        after_backup_keys => "after-backup-keys",
        before_stage => "before-stage",
        after_stage => "after-stage",
        before_maintenance_on => "before-maintenance-on",
        after_maintenance_on => "after-maintenance-on",
        before_drain => "before-drain",
        after_drain => "after-drain",
        before_stop => "before-stop",
        after_stop => "after-stop",
        before_backup_db => "before-backup-db",
        inside_backup_db => "db-backup-copy",
        after_backup_db => "after-backup-db",
        before_switch => "before-switch",
        inside_switch => "switch-link",
        after_switch => "after-switch",
        before_migrate => "before-migrate",
        after_migrate => "after-migrate",
        before_start => "before-start",
        after_start => "after-start",
        before_checks => "before-checks",
        after_checks => "after-checks",
        before_maintenance_off => "before-maintenance-off",
        after_maintenance_off => "after-maintenance-off",
        before_record => "before-record",
        after_record => "after-record",
    }
}

/// Killed while rolling back a failed upgrade: resume finishes the rollback.
mod rolling_back {
    use super::*;

    fault_matrix! { Some(Break::Health), "2026.1.0";
        before_undo_start => "before-undo-start",
        after_undo_start => "after-undo-start",
        before_undo_switch => "before-undo-switch",
        after_undo_switch => "after-undo-switch",
        before_undo_backup_db => "before-undo-backup-db",
        inside_undo_backup_db => "db-restore-copy",
        after_undo_backup_db => "after-undo-backup-db",
        before_undo_stop => "before-undo-stop",
        after_undo_stop => "after-undo-stop",
        before_undo_maintenance_on => "before-undo-maintenance-on",
        after_undo_maintenance_on => "after-undo-maintenance-on",
    }
}
