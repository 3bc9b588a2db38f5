//! `upshift demo`: the README's first command.

use crate::support::summary;

#[test]
fn demo_upgrades_a_throwaway_sample_server() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("demo");
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(["demo", "--json", "--keep"])
        .arg(&dir)
        .output()
        .unwrap();
    let _stop = testkit::StopGuard(dir.join("run/server.pid"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = summary(&out.stdout);
    assert_eq!(summary["outcome"], "upgraded");
    assert_eq!(summary["to"], "2026.2.0");
    assert!(dir.join("upshift.toml").is_file());
    let status = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .arg("-c")
        .arg(dir.join("upshift.toml"))
        .arg("status")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("2026.2.0"));
}

#[test]
fn demo_with_nodes_upgrades_a_local_cluster() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("demo");
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(["demo", "--nodes", "3", "--json", "--keep"])
        .arg(&dir)
        .output()
        .unwrap();
    let _stop: Vec<testkit::StopGuard> = (1..=3)
        .map(|i| testkit::StopGuard(dir.join(format!("node-{i}/run/server.pid"))))
        .collect();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = summary(&out.stdout);
    assert_eq!(summary["outcome"], "upgraded");
    let steps = summary["steps"].as_array().unwrap();
    let join = steps
        .iter()
        .find(|s| s["step"] == "join")
        .expect("a join step");
    assert_eq!(join["nodes"].as_array().map(Vec::len), Some(2));
    let status = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .arg("-c")
        .arg(dir.join("upshift.toml"))
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let nodes = status["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3);
    for node in nodes {
        assert_eq!(node["version"], "2026.2.0", "{node}");
        assert_eq!(node["running"], true, "{node}");
    }
}
