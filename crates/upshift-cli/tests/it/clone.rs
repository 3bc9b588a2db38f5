//! Test instances and rehearsals: a clone holds production's data and runs
//! on its own port beside production; a rehearsal upgrades a clone (or fails
//! and rolls it back), reports and predicts, and leaves production
//! byte-identical; the predicted window matches the real one.

use crate::support::{json_lines, summary};
use sample_server::data::Snapshot;
use sample_server::fixture::Options;
use sample_server::manifest::Break;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testkit::{tree_hash, PgCluster, Sample, StopGuard};

/// Takes the verified backups a clone is made from.
fn back_up(sample: &Sample) {
    for what in ["db", "keys"] {
        let out = sample.upshift().args(["backup", what]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Everything of production a rehearsal must not change.
#[derive(Debug, PartialEq)]
struct Production {
    files: BTreeMap<PathBuf, String>,
    data: Snapshot,
    pid: String,
    version: Value,
}

fn production(sample: &Sample) -> Production {
    Production {
        files: tree_hash(&sample.dir().join("server")),
        data: sample.snapshot(),
        pid: std::fs::read_to_string(sample.dir().join("run/server.pid")).unwrap(),
        version: sample.get("/api").1["Version"].clone(),
    }
}

/// `upshift rehearse --json` with its exit code and the rehearsal line.
fn rehearse(sample: &Sample, code: i32) -> Value {
    let out = sample
        .upshift()
        .args(["rehearse", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let line = json_lines(&out.stdout)
        .into_iter()
        .find(|v| v["type"] == "rehearsal")
        .expect("a rehearsal line");
    assert!(
        !Path::new(line["clone"]["dir"].as_str().unwrap()).exists(),
        "the clone was torn down"
    );
    line
}

fn report_md(line: &Value) -> String {
    assert!(Path::new(line["report_json"].as_str().unwrap()).is_file());
    std::fs::read_to_string(line["report_md"].as_str().unwrap()).unwrap()
}

#[test]
fn clone_holds_the_same_data_and_answers_on_its_own_port() {
    let sample = Sample::started();
    back_up(&sample);
    let before = production(&sample);
    let out = sample
        .upshift()
        .args(["clone", "--name", "test", "--json"])
        .output()
        .unwrap();
    let dir = sample.state_dir().join("clones/test");
    let _stop = StopGuard(dir.join("run/server.pid"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cloned = json_lines(&out.stdout)
        .into_iter()
        .find(|v| v["type"] == "clone")
        .unwrap();
    let port = cloned["port"].as_u64().unwrap();
    assert_ne!(format!("http://127.0.0.1:{port}"), sample.fx.base_url);

    let client = upshift::drivers::http::Client::new(std::time::Duration::from_secs(10));
    let api = client
        .get(&format!("http://127.0.0.1:{port}/api"), &[])
        .unwrap();
    let api: Value = serde_json::from_slice(&api.body).unwrap();
    assert_eq!((api["Version"].as_str()), Some("2026.1.0"));
    let data = Snapshot::read(&dir.join("server/data/sample.sqlite"), sample.master_key()).unwrap();
    assert_eq!(data, before.data, "the clone holds production's data");
    assert_eq!(
        std::fs::read(dir.join("server/keys/master.key")).unwrap(),
        std::fs::read(sample.fx.root.join("keys/master.key")).unwrap(),
        "the master key came from the key bundle"
    );
    assert_eq!(
        production(&sample),
        before,
        "production kept serving, untouched"
    );

    let status = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .arg("-c")
        .arg(cloned["instance_file"].as_str().unwrap())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn rehearsal_of_a_good_upgrade_predicts_the_real_window() {
    let sample = Sample::new(&Options {
        projects: 1_000_000,
        ..Options::default()
    });
    sample.start();
    back_up(&sample);
    let before = production(&sample);
    let line = rehearse(&sample, 0);
    assert_eq!(line["outcome"], "upgraded", "{line}");
    assert_eq!(line["to"], "2026.2.0");
    assert!(report_md(&line).contains("**upgraded**"));
    assert_eq!(production(&sample), before, "production is byte-identical");

    let plan = sample.upshift().args(["plan", "--json"]).output().unwrap();
    let plan = json_lines(&plan.stdout)
        .into_iter()
        .find(|v| v["type"] == "plan")
        .unwrap();
    let migrate = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "migrate")
        .unwrap();
    assert!(migrate["rehearsed_ms"].is_u64(), "{plan}");
    let predicted = plan["rehearsal"]["window_ms"].as_u64().unwrap();
    assert_eq!(Some(predicted), line["predicted_window_ms"].as_u64());
    let text = sample.upshift().arg("plan").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("rehearsed maintenance window"));

    let out = sample.run(&["upgrade", "--yes", "--json"], 0);
    let real = summary(&out.stdout)["window_ms"].as_u64().unwrap();
    let steps = |v: &Value, ms: &str| -> Vec<String> {
        let all = v["steps"].as_array().unwrap().iter();
        all.map(|s| format!("{}={}", s["step"], s[ms])).collect()
    };
    println!("rehearsed: {:?}", steps(&line, "predicted_ms"));
    println!("real: {:?}", steps(&summary(&out.stdout), "ms"));
    let off = (real as f64 - predicted as f64).abs() / real as f64;
    println!(
        "predicted window {predicted} ms, real window {real} ms ({:.1}% apart)",
        off * 100.0
    );
    // How close the prediction comes is measured (printed above; see
    // docs/rehearsal.md), not asserted: under a loaded CI machine the real
    // window alone varies by a third. What must hold is a prediction of the
    // same order as the real window: a broken scaling is off by far more.
    let ratio = predicted as f64 / real.max(1) as f64;
    assert!(
        (1.0 / 3.0..=3.0).contains(&ratio),
        "predicted {predicted} ms, real {real} ms"
    );
}

#[test]
fn rehearsal_of_a_broken_upgrade_reports_the_rollback() {
    let sample = Sample::new(&Options {
        brk: Some(("2026.2.0".into(), Break::Migration)),
        ..Options::default()
    });
    sample.start();
    back_up(&sample);
    let before = production(&sample);
    let line = rehearse(&sample, 1);
    assert_eq!(line["outcome"], "rolled_back", "{line}");
    assert_eq!(line["failed_step"], "migrate");
    let steps: Vec<&str> = line["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"undo-backup-db"), "{steps:?}");
    let md = report_md(&line);
    assert!(
        md.contains("FAILED and rolled back") && md.contains("What went wrong"),
        "{md}"
    );
    assert_eq!(production(&sample), before, "production is byte-identical");
}

#[test]
fn rehearsal_on_postgres_drops_the_clone_database() {
    let cluster = PgCluster::start();
    let db = "it_pg_rehearse";
    let sample = Sample::postgres(&cluster, db, "dump", &Options::default());
    sample.start();
    back_up(&sample);
    let before = production(&sample);
    let line = rehearse(&sample, 0);
    assert_eq!(line["outcome"], "upgraded", "{line}");
    assert!(line["clone"]["database"]
        .as_str()
        .unwrap()
        .contains(&format!("{db}_rehearsal")));
    assert_eq!(production(&sample), before);
    let left: i64 = cluster
        .client("postgres")
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE $1",
            &[&format!("{db}\\_%")],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the clone's database was dropped");
}
