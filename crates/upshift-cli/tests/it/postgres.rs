//! The core and rollback promises on PostgreSQL, against a real throwaway
//! cluster: upgrades keep every row and secret with either backup strategy,
//! failures roll back (by pg_restore, or by renaming the snapshot back), and
//! a kill -9 inside the window is resumed or rolled back.

use crate::support::{healthy_on, rolled_back, summary};
use sample_server::fixture::Options;
use sample_server::manifest::Break;
use std::os::unix::process::ExitStatusExt;
use testkit::{PgCluster, Sample};
use upshift::engine::state::{BackupKind, State};

fn sample(cluster: &PgCluster, db: &str, strategy: &str, brk: Option<Break>) -> Sample {
    let options = Options {
        brk: brk.map(|b| ("2026.2.0".into(), b)),
        ..Options::default()
    };
    let sample = Sample::postgres(cluster, db, strategy, &options);
    sample.start();
    sample
}

/// Upgrades a PostgreSQL sample; the cluster handle keeps the shared
/// cluster up while the caller looks at the result.
fn upgrades(strategy: &str, db: &str) -> (PgCluster, Sample, State) {
    let cluster = PgCluster::start();
    let sample = sample(&cluster, db, strategy, None);
    let before = sample.snapshot();
    let out = sample.run(&["upgrade", "--yes", "--json"], 0);
    assert_eq!(summary(&out.stdout)["to"], "2026.2.0");
    let after = sample.snapshot();
    assert_eq!(
        (after.schema_version, &after.projects, &after.secrets),
        (2, &before.projects, &before.secrets)
    );
    assert_eq!(sample.get("/api/health").0, 200);
    let state = State::open(&sample.state_dir()).unwrap();
    (cluster, sample, state)
}

#[test]
fn upgrade_with_a_verified_dump() {
    let (_cluster, sample, state) = upgrades("dump", "it_pg_dump_upgrade");
    let backup = &state.backups(Some(BackupKind::Db)).unwrap()[0];
    assert!(backup.path.is_dir(), "a directory-format dump");
    let out = sample
        .upshift()
        .args(["backups", "verify"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn upgrade_with_a_snapshot_exports_a_portable_dump_after_the_window() {
    let (_cluster, _sample, state) = upgrades("snapshot", "it_pg_snapshot_upgrade");
    let backups = state.backups(Some(BackupKind::Db)).unwrap();
    assert_eq!(backups.len(), 2, "the snapshot and its exported dump");
    assert!(backups[0].path.is_dir(), "the newest is the exported dump");
    let run = &state.runs(1).unwrap()[0];
    let steps = state.steps(&run.id).unwrap();
    let export = steps.iter().find(|s| s.name == "export-backup").unwrap();
    let window_end = steps.iter().find(|s| s.name == "maintenance-off").unwrap();
    assert!(
        export.started_at >= window_end.finished_at.clone().unwrap(),
        "exported after the window"
    );
}

#[test]
fn failed_migration_is_rolled_back_by_renaming_the_snapshot() {
    let cluster = PgCluster::start();
    let sample = sample(
        &cluster,
        "it_pg_snapshot_rollback",
        "snapshot",
        Some(Break::Migration),
    );
    let before = sample.snapshot();
    rolled_back(&sample, &[]);
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn failed_health_check_is_rolled_back_by_pg_restore() {
    let cluster = PgCluster::start();
    let sample = sample(&cluster, "it_pg_dump_rollback", "dump", Some(Break::Health));
    let before = sample.snapshot();
    rolled_back(&sample, &[]);
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn killed_after_the_migration_then_resumed_or_rolled_back() {
    let cluster = PgCluster::start();
    for (strategy, command, version) in [
        ("dump", ["resume", "--json"], "2026.2.0"),
        ("snapshot", ["rollback", "--yes"], "2026.1.0"),
    ] {
        let sample = sample(&cluster, &format!("it_pg_kill_{strategy}"), strategy, None);
        let before = sample.snapshot();
        let out = sample
            .upshift()
            .env("FAILPOINTS", "after-migrate=return(kill)")
            .args(["upgrade", "--yes"])
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(9));
        let out = sample.upshift().args(command).output().unwrap();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sample.get("/api").1["Version"], version);
        let after = sample.snapshot();
        assert_eq!(
            (&after.projects, &after.secrets),
            (&before.projects, &before.secrets)
        );
    }
}
