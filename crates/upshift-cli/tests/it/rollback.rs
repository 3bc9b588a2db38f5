//! Failures inside the maintenance window are rolled back for real, and an
//! upgrade that succeeded can be rolled back later: the instance always ends
//! healthy on a version, with its data.

use crate::support::{edit_instance_file, healthy_on, json_lines, rolled_back, summary};
use sample_server::fixture::Options;
use sample_server::manifest::Break;
use std::time::Duration;
use testkit::{wait_until, Sample, Tmpfs};

/// A started sample whose 2026.2.0 release is broken by `brk`.
fn broken(brk: Break) -> Sample {
    let sample = Sample::new(&Options {
        brk: Some(("2026.2.0".into(), brk)),
        ..Options::default()
    });
    sample.start();
    sample
}

#[test]
fn failing_health_check_is_rolled_back() {
    let sample = broken(Break::Health);
    let before = sample.snapshot();
    let summary = rolled_back(&sample, &[]);
    let undone: Vec<&str> = summary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["step"].as_str().filter(|n| n.starts_with("undo-")))
        .collect();
    assert_eq!(
        undone,
        [
            "undo-start",
            "undo-switch",
            "undo-backup-db",
            "undo-stop",
            "undo-maintenance-on"
        ]
    );
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn migration_failing_half_way_is_rolled_back() {
    let sample = broken(Break::Migration);
    let before = sample.snapshot();
    rolled_back(&sample, &[]);
    healthy_on(&sample, "2026.1.0", &before);
    let slug = sample
        .instance()
        .db
        .query_scalar("SELECT count(*) FROM pragma_table_info('projects') WHERE name = 'slug'")
        .unwrap();
    assert_eq!(slug, 0, "the half-made column went with the restore");
}

#[test]
fn service_not_starting_is_rolled_back() {
    let sample = broken(Break::Start);
    edit_instance_file(&sample, "start_timeout = \"20s\"", "start_timeout = \"3s\"");
    let before = sample.snapshot();
    let summary = rolled_back(&sample, &[]);
    assert_eq!(summary["failed_step"], "start");
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn maintenance_api_failing_or_hanging_is_rolled_back() {
    let sample = Sample::started();
    let before = sample.snapshot();
    let base = sample.fx.base_url.clone();
    edit_instance_file(
        &sample,
        &format!("on = {{ method = \"PUT\", url = \"{base}/api/maintenance\""),
        &format!("on = {{ method = \"PUT\", url = \"{base}/api/no-such-thing\""),
    );
    let summary = rolled_back(&sample, &[]);
    assert_eq!(summary["failed_step"], "maintenance-on");
    assert!(
        summary["error"].as_str().unwrap().contains("404"),
        "{summary}"
    );
    healthy_on(&sample, "2026.1.0", &before);

    // A maintenance API that answers 500.
    let failing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let failing_url = format!("http://{}/api/maintenance", failing.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in failing.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut conn, &mut buf);
            let _ = std::io::Write::write_all(&mut conn, b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    edit_instance_file(&sample, &format!("{base}/api/no-such-thing"), &failing_url);
    let summary = rolled_back(&sample, &[]);
    assert!(
        summary["error"].as_str().unwrap().contains("answered 500"),
        "{summary}"
    );
    healthy_on(&sample, "2026.1.0", &before);

    // A maintenance API that accepts the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    edit_instance_file(
        &sample,
        "name = \"sample\"",
        "name = \"sample\"\nhttp_timeout = \"1s\"",
    );
    edit_instance_file(
        &sample,
        &failing_url,
        &format!("http://127.0.0.1:{port}/api/maintenance"),
    );
    let summary = rolled_back(&sample, &[]);
    assert!(
        summary["error"].as_str().unwrap().contains("timed out"),
        "{summary}"
    );
    healthy_on(&sample, "2026.1.0", &before);
}

/// Queues a task on the server that runs for `ms`.
pub(crate) fn queue_task(sample: &Sample, ms: u64) {
    let client = upshift::drivers::http::Client::new(Duration::from_secs(5));
    let mut headers = upshift::config::Headers::new();
    headers.insert(
        "X-Api-Key".into(),
        upshift::config::HeaderValue::Plain(sample.fx.api_key.clone()),
    );
    let body = serde_json::json!({ "duration_ms": ms });
    let answer = client
        .send(
            "POST",
            &format!("{}/api/tasks", sample.fx.base_url),
            &[&headers],
            Some(&body),
        )
        .unwrap();
    assert_eq!(answer.status, 201);
}

#[test]
fn disk_full_during_the_backup_is_rolled_back() {
    let sample = Sample::started();
    let before = sample.snapshot();
    let small = sample.fx.dir.join("small");
    let _mount = Tmpfs::mount(&small, "20m");
    edit_instance_file(
        &sample,
        "[migration]",
        "[backups]\ndir = \"small\"\n\n[migration]",
    );
    // A task keeps the drain busy while the window is open; then the
    // backup file system fills up, as if something else wrote to it.
    queue_task(&sample, 2000);
    let filler = {
        let (base, small) = (sample.fx.base_url.clone(), small.clone());
        std::thread::spawn(move || {
            let client = upshift::drivers::http::Client::new(Duration::from_secs(5));
            wait_until("maintenance on", Duration::from_secs(30), || {
                client
                    .get(&format!("{base}/api/maintenance"), &[])
                    .map(|a| a.body.windows(4).any(|w| w == b"true"))
                    .unwrap_or(false)
            });
            let mut file = std::fs::File::create(small.join("filler")).unwrap();
            let block = vec![0u8; 1 << 20];
            while std::io::Write::write_all(&mut file, &block).is_ok() {}
        })
    };
    let summary = rolled_back(&sample, &["--to", "2026.2.0"]);
    filler.join().unwrap();
    assert_eq!(summary["failed_step"], "backup-db");
    assert!(
        summary["error"].as_str().unwrap().contains("space"),
        "{summary}"
    );
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn database_locked_by_another_process_is_refused() {
    let sample = Sample::started();
    let holder = rusqlite::Connection::open(&sample.fx.database).unwrap();
    holder.busy_timeout(Duration::from_secs(10)).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let out = sample
        .upshift()
        .args(["upgrade", "--yes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
    drop(holder);
    assert_eq!(sample.get("/api").1["Version"], "2026.1.0");
}

#[test]
fn corrupt_backup_is_refused_before_the_database_is_touched() {
    let sample = broken(Break::Health);
    sample.run(&["upgrade", "--yes", "--on-failure", "stop"], 3);
    let state = upshift::engine::state::State::open(&sample.state_dir()).unwrap();
    let backup = state
        .backups(Some(upshift::engine::state::BackupKind::Db))
        .unwrap()
        .remove(0);
    let mut bytes = std::fs::read(&backup.path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&backup.path, bytes).unwrap();
    let live = sample.instance().db.content_checksum().unwrap();
    let out = sample
        .upshift()
        .args(["rollback", "--yes", "--discard-newer-data"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("refusing to restore backup"), "{stderr}");
    assert_eq!(
        sample.instance().db.content_checksum().unwrap(),
        live,
        "the live database was not touched"
    );
    let status = sample.upshift().args(["status"]).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("undo-backup-db"));
    // The operator decides to settle the run anyway: the failing undo is
    // skipped and named, and the run no longer blocks the instance.
    let out = sample
        .upshift()
        .args(["rollback", "--yes", "--force", "--discard-newer-data"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("skipped: undo-backup-db"), "{stderr}");
    let status = sample
        .upshift()
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        json_lines(&status.stdout)[0]["last_run"]["status"],
        "failed"
    );
}

#[test]
fn resume_after_a_stop_retries_then_rolls_back() {
    let sample = broken(Break::Health);
    let before = sample.snapshot();
    sample.run(&["upgrade", "--yes", "--on-failure", "stop"], 3);
    let out = sample.run(&["resume", "--json"], 1);
    assert_eq!(summary(&out.stdout)["outcome"], "rolled_back");
    healthy_on(&sample, "2026.1.0", &before);
    let out = sample.upshift().args(["resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "nothing left to resume");
}

#[test]
fn a_succeeded_upgrade_is_rolled_back_with_its_data_and_todays_data_saved() {
    let sample = Sample::started();
    let before = sample.snapshot();
    sample.run(&["upgrade", "--yes"], 0);
    queue_task(&sample, 1);
    // The old version's folder is gone: rollback must reinstall it.
    std::fs::remove_dir_all(sample.fx.root.join("versions/2026.1.0")).unwrap();

    let out = sample.run(&["rollback", "--yes"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--discard-newer-data"));
    assert_eq!(
        sample.get("/api").1["Version"],
        "2026.2.0",
        "refused: nothing changed"
    );

    let out = sample.run(&["rollback", "--yes", "--discard-newer-data", "--json"], 0);
    let summary = summary(&out.stdout);
    assert_eq!(
        (summary["outcome"].as_str(), summary["to"].as_str()),
        (Some("rolled_back"), Some("2026.1.0"))
    );
    healthy_on(&sample, "2026.1.0", &before);

    let state = upshift::engine::state::State::open(&sample.state_dir()).unwrap();
    let saved = &state
        .backups(Some(upshift::engine::state::BackupKind::Db))
        .unwrap()[0];
    assert_eq!(
        saved.version, "2026.2.0",
        "today's data was backed up first"
    );
    let history = state.history().unwrap();
    assert_eq!(
        (history[0].from.as_str(), history[0].to.as_str()),
        ("2026.2.0", "2026.1.0")
    );
    let out = sample
        .upshift()
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&out.stdout)[0]["runs"][0]["kind"], "rollback");
}

#[test]
fn prune_keeps_what_a_rollback_needs() {
    let sample = Sample::started();
    edit_instance_file(
        &sample,
        "[migration]",
        "[backups]\nkeep_db = 0\nkeep_keys = 1\n\n[migration]",
    );
    for to in ["2026.1.1", "2026.2.0"] {
        sample.run(&["upgrade", "--yes", "--to", to], 0);
    }
    let state = upshift::engine::state::State::open(&sample.state_dir()).unwrap();
    let dbs = state
        .backups(Some(upshift::engine::state::BackupKind::Db))
        .unwrap();
    assert_eq!(dbs.len(), 2);
    sample.run(&["backups", "prune"], 0);
    let left = state
        .backups(Some(upshift::engine::state::BackupKind::Db))
        .unwrap();
    assert_eq!(
        left.len(),
        1,
        "the latest upgrade's backup is kept whatever keep_db says"
    );
    assert_eq!(left[0].id, dbs[0].id);
    assert!(!dbs[1].path.exists() && dbs[0].path.exists());
    assert_eq!(
        state
            .backups(Some(upshift::engine::state::BackupKind::Keys))
            .unwrap()
            .len(),
        1
    );
    sample.run(&["rollback", "--yes", "--discard-newer-data"], 0);
}

#[test]
fn demo_break_shows_a_rollback() {
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(["demo", "--json", "--break", "migration"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&out.stdout)["outcome"], "rolled_back");
}

#[test]
fn a_succeeded_upgrade_whose_new_version_is_down_is_rolled_back() {
    let sample = Sample::started();
    let before = sample.snapshot();
    sample.run(&["upgrade", "--yes"], 0);
    sample.instance().service.stop().unwrap();
    sample.run(&["rollback", "--yes", "--discard-newer-data"], 0);
    healthy_on(&sample, "2026.1.0", &before);
}

#[test]
fn a_migration_outliving_a_killed_upshift_holds_the_instance_until_it_ends() {
    let sample = Sample::started();
    let before = sample.snapshot();
    edit_instance_file(
        &sample,
        r#"run = ["{dir}/bin/sample-server", "migrate", "--config", "server/server.toml"]"#,
        r#"run = ["sh", "-c", "sleep 2 && exec \"$0\" migrate --config server/server.toml", "{dir}/bin/sample-server"]"#,
    );
    let mut upgrade = std::process::Command::new(assert_cmd::cargo::cargo_bin("upshift"))
        .arg("-c")
        .arg(&sample.fx.instance_file)
        .args(["upgrade", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state = upshift::engine::state::State::open(&sample.state_dir()).unwrap();
    wait_until("the migration to start", Duration::from_secs(30), || {
        let Ok(Some(run)) = state.unfinished_run() else {
            return false;
        };
        state
            .steps(&run.id)
            .unwrap()
            .iter()
            .any(|s| s.name == "migrate")
    });
    upgrade.kill().unwrap();
    upgrade.wait().unwrap();
    // The migration runs on: nothing may restore the database under it.
    let out = sample.run(&["rollback", "--yes"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("busy"));
    wait_until(
        "the orphaned migration to end",
        Duration::from_secs(30),
        || upshift::support::lock::Lock::acquire(&sample.state_dir(), "test").is_ok(),
    );
    sample.run(&["resume"], 0);
    let after = sample.snapshot();
    assert_eq!(
        (after.schema_version, &after.projects, &after.secrets),
        (2, &before.projects, &before.secrets)
    );
    assert_eq!(sample.get("/api").1["Version"], "2026.2.0");
}
