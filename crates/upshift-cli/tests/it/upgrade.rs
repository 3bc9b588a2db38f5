//! Upgrades that succeed: a patch and a minor release, with every promise
//! checked: the new version answers, data and secrets are intact, the key
//! bundle opens to the original keys, the backup restores to an identical
//! database, history and window are recorded.

use crate::support::{json_lines, same_rows, serving, summary};
use sample_server::fixture::Options;
use testkit::Sample;
use upshift::config::{DatabaseConfig, FilePath};
use upshift::drivers::keys::KeyBundle;
use upshift::engine::state::{BackupKind, State};

/// Upgrades `sample` to `to` and checks everything an upgrade promises.
fn upgrade_and_prove(sample: &Sample, to: &str) -> serde_json::Value {
    let before = sample.snapshot();
    let inst = sample.instance();

    let out = sample
        .upshift()
        .args(["upgrade", "--yes", "--json", "--to", to])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {stderr}\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let summary = summary(&out.stdout);
    assert_eq!(summary["outcome"], "upgraded");
    assert_eq!(summary["from"], "2026.1.0");
    assert_eq!(summary["to"], to);
    assert!(
        summary["window_ms"].as_u64().unwrap() > 0,
        "window reported: {summary}"
    );
    let events = json_lines(&out.stdout);
    let finished: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "step_finished")
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        finished,
        [
            "preflight",
            "backup-keys",
            "stage",
            "maintenance-on",
            "drain",
            "stop",
            "backup-db",
            "switch",
            "migrate",
            "start",
            "checks",
            "maintenance-off",
            "record"
        ]
    );

    // The new version answers, healthy, out of maintenance.
    serving(sample, to);

    // Every row and every secret survived, and decrypts with the master key.
    let after = sample.snapshot();
    same_rows(&before, &after);
    assert_eq!(after.secrets.len(), 20);

    let state = State::open(&sample.state_dir()).unwrap();
    // The key bundle decrypts to the original keys.
    let keys = &state.backups(Some(BackupKind::Keys)).unwrap()[0];
    let bundle = KeyBundle::open(inst.loaded.file.keys.as_ref().unwrap(), &keys.path).unwrap();
    let master = std::fs::read(sample.fx.root.join("keys/master.key")).unwrap();
    assert_eq!(bundle.get("master-key"), Some(master.as_slice()));
    assert_eq!(
        bundle.get("master-key-cli"),
        Some(master.as_slice()),
        "the templated command source reads the same key"
    );
    let licence = std::fs::read(sample.fx.root.join("keys/licence.json")).unwrap();
    let licence: serde_json::Value = serde_json::from_slice(&licence).unwrap();
    let bundled: serde_json::Value =
        serde_json::from_slice(bundle.get("licence").unwrap()).unwrap();
    assert_eq!(bundled, licence);

    // The database backup restores, over the upgraded database, to a
    // database identical to the backup, holding the data from before.
    let db_backup = &state.backups(Some(BackupKind::Db)).unwrap()[0];
    assert_eq!(db_backup.version, "2026.1.0");
    let sqlite = |path: &std::path::Path| {
        upshift::drivers::db::open(
            &DatabaseConfig::Sqlite {
                path: FilePath::from_path(path),
            },
            sample.dir(),
        )
    };
    let backup_checksum = sqlite(&db_backup.path).content_checksum().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let target = sqlite(&sample.fx.database)
        .backup(scratch.path(), "restored.sqlite", &|_, _| {})
        .unwrap()
        .path;
    let restored = sqlite(&target);
    assert_ne!(
        restored.content_checksum().unwrap(),
        backup_checksum,
        "the live database changed in the upgrade"
    );
    restored.restore(&db_backup.path).unwrap();
    assert_eq!(restored.content_checksum().unwrap(), backup_checksum);
    let data = sample_server::data::Snapshot::read(&target, sample.master_key()).unwrap();
    assert_eq!(
        (data.schema_version, &data.projects, &data.secrets),
        (1, &before.projects, &before.secrets)
    );

    // History records from and to.
    let out = sample
        .upshift()
        .args(["history", "--json"])
        .output()
        .unwrap();
    let history = &json_lines(&out.stdout)[0];
    assert_eq!(history["installs"][0]["from"], "2026.1.0");
    assert_eq!(history["installs"][0]["to"], to);
    summary
}

#[test]
fn patch_upgrade_keeps_every_byte() {
    let sample = Sample::with_passphrase(&Options::default());
    sample.start();
    upgrade_and_prove(&sample, "2026.1.1");
    assert_eq!(sample.snapshot().schema_version, 1);
}

#[test]
fn minor_upgrade_migrates_and_keeps_every_byte() {
    let sample = Sample::started();
    let summary = upgrade_and_prove(&sample, "2026.2.0");
    assert_eq!(sample.snapshot().schema_version, 2);
    let shares: u64 = summary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["in_window"] == true)
        .map(|s| s["ms"].as_u64().unwrap())
        .sum();
    assert!(
        shares <= summary["window_ms"].as_u64().unwrap() + 5,
        "steps fit in the window"
    );
}

#[test]
fn on_start_migration_is_covered_by_start() {
    let sample = Sample::new(&Options {
        migrate_on_start: true,
        ..Options::default()
    });
    sample.start();
    let out = sample.run(&["upgrade", "--yes", "--json"], 0);
    assert_eq!(summary(&out.stdout)["to"], "2026.2.0");
    assert_eq!(sample.snapshot().schema_version, 2);
}

#[test]
fn plan_says_start_migrates_and_the_rollback_needs_the_restore() {
    let sample = Sample::new(&Options {
        migrate_on_start: true,
        ..Options::default()
    });
    sample.start();
    let out = sample.run(&["plan", "--json"], 0);
    let lines = json_lines(&out.stdout);
    let plan = lines.iter().find(|v| v["type"] == "plan").unwrap();
    let steps = plan["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["step"] != "migrate"), "{plan}");
    let start = steps.iter().find(|s| s["step"] == "start").unwrap();
    assert!(
        start["description"]
            .as_str()
            .unwrap()
            .contains("upgrades the database schema as it starts"),
        "{start}"
    );
    let notes: Vec<&str> = lines.iter().filter_map(|v| v["message"].as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("`start` runs the migration")
                && n.contains("restoring the database backup")),
        "{notes:?}"
    );
    let text = sample.run(&["plan"], 0);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("note: the server migrates its database schema as it starts"),
        "{text}"
    );
    assert!(
        text.contains("upgrades the database schema as it starts"),
        "{text}"
    );
}

#[test]
fn second_upgrade_has_nothing_to_do_and_keys_are_not_taken_twice() {
    let sample = Sample::started();
    sample.run(&["upgrade", "--yes", "--to", "2026.1.1"], 0);
    let out = sample.run(&["upgrade", "--yes", "--json", "--to", "2026.2.0"], 0);
    let keys_step = json_lines(&out.stdout)
        .into_iter()
        .find(|e| e["type"] == "step_finished" && e["step"] == "backup-keys")
        .unwrap();
    assert_eq!(
        keys_step["skipped"], true,
        "unchanged keys are not bundled again: {keys_step}"
    );
    let out = sample.run(&["upgrade", "--yes", "--json"], 0);
    assert_eq!(summary(&out.stdout)["outcome"], "nothing_to_do");
}

#[test]
fn on_failure_stop_pauses_in_the_window_with_exit_3_and_the_journal_says_where() {
    let sample = Sample::new(&Options {
        brk: Some(("2026.2.0".into(), sample_server::manifest::Break::Health)),
        ..Options::default()
    });
    sample.start();
    let out = sample.run(&["upgrade", "--yes", "--json", "--on-failure", "stop"], 3);
    let summary = summary(&out.stdout);
    assert_eq!(summary["failed_step"], "checks");
    let out = sample
        .upshift()
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status = &json_lines(&out.stdout)[0];
    assert_eq!(status["last_run"]["status"], "needs_operator");
    let failed: Vec<_> = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["name"], "checks");
    assert!(status["advice"]
        .as_str()
        .unwrap()
        .contains("upshift resume"));
    // A new upgrade is refused until the stopped run is settled.
    let out = sample.run(&["upgrade", "--yes"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not finish"));
}

#[test]
fn upgrade_from_an_http_release_source() {
    let sample = Sample::started();
    let feed = testkit::FeedServer::start(sample.fx.dir.join("feed"));
    let path = &sample.fx.instance_file;
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(
        path,
        text.replace(
            "source = \"feed\"",
            &format!("source = \"{}/index.json\"", feed.url),
        ),
    )
    .unwrap();
    sample.run(&["upgrade", "--yes", "--json", "--to", "2026.1.1"], 0);
    assert_eq!(sample.get("/api").1["Version"], "2026.1.1");
    assert!(feed.requests() >= 2, "index and archive came over HTTP");
    assert!(
        sample
            .state_dir()
            .join("cache/sample-server-2026.1.1.tar.gz")
            .is_file(),
        "the download is cached"
    );
}
