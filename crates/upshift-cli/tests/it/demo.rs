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
