//! A rollback checks the version it restores (issue 20): an undo renders
//! `{version}` and the other placeholders for the version it brings back,
//! not for the target that failed.
//!
//! The instance gets the issue's two checks: a command check that the
//! server reports `{version}`, and a SQL check that passes only without
//! 2026.2.0's `audit` table. The upgrade's checks fail on 2026.2.0 (the
//! table exists), the undo restores the backup and starts 2026.1.0, and its
//! checks must pass there: exit 1, `rolled_back`, not exit 3. The same
//! after `kill -9` just before `undo-stop`, finished by `rollback`. On
//! SQLite and on PostgreSQL.

use crate::support::{kill_at, same_rows, serving, summary};
use sample_server::fixture::Options;
use testkit::{PgCluster, Sample};

/// The issue's checks, with the query that finds the `audit` table.
fn add_checks(sample: &Sample, audit_tables: &str) {
    let checks = format!(
        r#"
[[checks]]
kind = "command"
name = "serves its version"
run = ["sh", "-c", "curl -sf {base}/api | grep -q \"Version.:.$0\"", "{{version}}"]
within = "10s"

[[checks]]
kind = "sql"
name = "no audit table"
query = "{audit_tables}"
equals = 0
"#,
        base = sample.fx.base_url,
    );
    let path = &sample.fx.instance_file;
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, text + &checks).unwrap();
}

const SQLITE_AUDIT: &str = "SELECT count(*) FROM sqlite_master WHERE name = 'audit'";
const PG_AUDIT: &str = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit'";

/// A started sample with the issue's checks, on SQLite or, with `pg`, in a
/// new database of that cluster; every check passes on 2026.1.0.
fn sample(pg: Option<(&PgCluster, &str)>) -> Sample {
    let options = Options::default();
    let (sample, query) = match pg {
        Some((cluster, db)) => (
            Sample::postgres(cluster, db, "snapshot", &options),
            PG_AUDIT,
        ),
        None => (Sample::new(&options), SQLITE_AUDIT),
    };
    add_checks(&sample, query);
    sample.start();
    sample.run(&["check"], 0);
    sample
}

/// Runs `upshift <args> --json`: it must end rolled back (exit 1) with
/// 2026.1.0 serving its data as before and every check passing.
fn ends_rolled_back(sample: &Sample, before: &sample_server::data::Snapshot, args: &[&str]) {
    let out = sample.upshift().args(args).arg("--json").output().unwrap();
    let summary = summary(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary["outcome"], "rolled_back", "{summary}");
    serving(sample, "2026.1.0");
    same_rows(before, &sample.snapshot());
    sample.run(&["check"], 0);
}

fn upgrade_fails_and_rolls_back(pg: Option<(&PgCluster, &str)>) {
    let sample = sample(pg);
    let before = sample.snapshot();
    ends_rolled_back(&sample, &before, &["upgrade", "--yes", "--to", "2026.2.0"]);
}

fn killed_in_undo_stop_then_rollback(pg: Option<(&PgCluster, &str)>) {
    let sample = sample(pg);
    let before = sample.snapshot();
    kill_at(
        &sample,
        "before-undo-stop",
        &["upgrade", "--yes", "--to", "2026.2.0"],
    );
    ends_rolled_back(
        &sample,
        &before,
        &["rollback", "--yes", "--discard-newer-data"],
    );
}

#[test]
fn failed_upgrade_checks_the_restored_version() {
    upgrade_fails_and_rolls_back(None);
}

#[test]
fn failed_upgrade_checks_the_restored_version_on_postgres() {
    let cluster = PgCluster::start();
    upgrade_fails_and_rolls_back(Some((&cluster, "undo_checks_upgrade")));
}

#[test]
fn killed_in_undo_stop_then_rollback_checks_the_restored_version() {
    killed_in_undo_stop_then_rollback(None);
}

#[test]
fn killed_in_undo_stop_then_rollback_checks_the_restored_version_on_postgres() {
    let cluster = PgCluster::start();
    killed_in_undo_stop_then_rollback(Some((&cluster, "undo_checks_killed")));
}
