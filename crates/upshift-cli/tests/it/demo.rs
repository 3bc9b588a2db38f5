//! `upshift demo`: the README's first command.

use crate::support::summary;
use std::path::Path;

/// `upshift <args>` for the demo kept in `dir`, which must succeed; its
/// summary. The servers named by `pidfiles` (relative to `dir`) are killed
/// when the returned guards drop.
fn kept_demo(
    args: &[&str],
    dir: &Path,
    pidfiles: &[String],
) -> (serde_json::Value, Vec<testkit::StopGuard>) {
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(args)
        .args(["--json", "--keep"])
        .arg(dir)
        .output()
        .unwrap();
    let guards = pidfiles
        .iter()
        .map(|p| testkit::StopGuard(dir.join(p)))
        .collect();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (summary(&out.stdout), guards)
}

#[test]
fn demo_upgrades_a_throwaway_sample_server() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("demo");
    let (summary, _stop) = kept_demo(&["demo"], &dir, &["run/server.pid".into()]);
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
    let pidfiles: Vec<String> = (1..=3)
        .map(|i| format!("node-{i}/run/server.pid"))
        .collect();
    let (summary, _stop) = kept_demo(&["demo", "--nodes", "3"], &dir, &pidfiles);
    assert_eq!(summary["outcome"], "upgraded");
    let steps = summary["steps"].as_array().unwrap();
    let join = steps
        .iter()
        .find(|s| s["step"] == "join")
        .expect("a join step");
    assert_eq!(join["nodes"].as_array().map(Vec::len), Some(2));
    // The migration runs once, on the first node: the others, only asked
    // whether they still run, did no part of it.
    let migrate = steps
        .iter()
        .find(|s| s["step"] == "migrate")
        .expect("a migrate step");
    let migrated_on: Vec<&str> = migrate["nodes"]
        .as_array()
        .expect("the migrate step's nodes")
        .iter()
        .filter_map(|n| n["node"].as_str())
        .collect();
    assert_eq!(migrated_on, ["node-1"], "{migrate}");
    let program = dir.join("node-1/versions/2026.2.0/bin/sample-server");
    assert_eq!(
        migrate["detail"],
        format!("`{}` succeeded on node-1", program.display()),
        "the detail names the command as it ran on node-1"
    );
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

#[test]
fn an_upshift_installed_on_its_own_demos_from_any_folder() {
    // The binary alone in a bin folder, as `cargo install` leaves it: no
    // sample-server beside it, run from an unrelated working folder.
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let upshift = bin.join("upshift");
    std::fs::copy(assert_cmd::cargo::cargo_bin("upshift"), &upshift).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = elsewhere.path().join("demo");
    let out = std::process::Command::new(&upshift)
        .args(["demo", "--json", "--keep"])
        .arg(&dir)
        .current_dir(elsewhere.path())
        .env_remove("SAMPLE_SERVER_BIN")
        .output()
        .unwrap();
    let _stop = testkit::StopGuard(dir.join("run/server.pid"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&out.stdout)["outcome"], "upgraded");
    // The release it installed carries upshift itself as the sample server.
    let served = std::fs::read(dir.join("server/versions/2026.2.0/bin/sample-server")).unwrap();
    assert_eq!(served, std::fs::read(&upshift).unwrap());
}

/// `upshift <args>` run as a newcomer would (human output), which must
/// exit 0; its stdout.
fn human(args: &[&str], tmp: &Path) -> String {
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_kept_demo_says_how_to_stop_its_server_and_that_command_does() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("demo");
    let pidfile = dir.join("run/server.pid");
    let _stop = testkit::StopGuard(pidfile.clone());
    let stdout = human(&["demo", "--keep", dir.to_str().unwrap()], keep.path());
    let (_, after) = stdout
        .split_once("stop the server when done:\n")
        .unwrap_or_else(|| panic!("no stop command in: {stdout}"));
    let argv = shlex::split(after.lines().next().unwrap().trim()).unwrap();
    assert!(pidfile.exists(), "the kept server is not running");
    let stopped = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(keep.path())
        .output()
        .unwrap();
    assert!(stopped.status.success(), "{argv:?}: {stopped:?}");
    assert!(!pidfile.exists(), "{argv:?} did not stop the server");
}

#[test]
fn a_demo_not_kept_says_it_cleaned_up() {
    let tmp = tempfile::tempdir().unwrap();
    let stdout = human(&["demo"], tmp.path());
    let line = stdout
        .lines()
        .find(|l| l.starts_with("cleaned up: "))
        .unwrap_or_else(|| panic!("no clean-up line in: {stdout}"));
    let removed = line
        .strip_suffix(" removed")
        .and_then(|l| l.rsplit_once(" and "))
        .map(|(_, dir)| Path::new(dir).to_path_buf())
        .unwrap_or_else(|| panic!("no folder named in: {line}"));
    assert!(removed.starts_with(tmp.path()), "{line}");
    assert!(!removed.exists(), "{line}, but it is there");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn demo_help_names_its_values_and_what_it_ignores() {
    let tmp = tempfile::tempdir().unwrap();
    let help = human(&["demo", "--help"], tmp.path());
    for expected in ["--keep <DIR>", "--break <KIND>", "--nodes <N>"] {
        assert!(help.contains(expected), "no `{expected}` in: {help}");
    }
    assert!(
        help.contains("-c/--config and --state-dir are ignored"),
        "{help}"
    );
}
