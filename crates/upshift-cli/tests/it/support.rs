//! Helpers shared by the integration tests.

use sample_server::data::Snapshot;
use serde_json::Value;
use testkit::Sample;

/// The JSON lines a `--json` command printed.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The last line of type `summary`.
pub fn summary(stdout: &[u8]) -> Value {
    json_lines(stdout)
        .into_iter()
        .rev()
        .find(|v| v["type"] == "summary")
        .unwrap_or_else(|| panic!("no summary in:\n{}", String::from_utf8_lossy(stdout)))
}

/// The server answers on `version`, healthy and out of maintenance, with
/// exactly the data of `before`.
pub fn healthy_on(sample: &Sample, version: &str, before: &Snapshot) {
    serving(sample, version);
    assert_eq!(&sample.snapshot(), before);
}

/// The server answers on `version`, healthy and out of maintenance.
pub fn serving(sample: &Sample, version: &str) {
    assert_eq!(sample.get("/api").1["Version"], version);
    assert_eq!(sample.get("/api/health").0, 200);
    assert_eq!(
        sample.get("/api/maintenance").1["IsInMaintenanceMode"],
        false
    );
}

/// Every project and every secret of `before` is there, as it was.
pub fn same_rows(before: &Snapshot, after: &Snapshot) {
    assert_eq!(after.projects, before.projects);
    assert_eq!(after.secrets, before.secrets);
}

/// `upshift upgrade` that must end rolled back (exit 1).
pub fn rolled_back(sample: &Sample, args: &[&str]) -> serde_json::Value {
    let out = sample
        .upshift()
        .args(["upgrade", "--yes", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = summary(&out.stdout);
    assert_eq!(summary["outcome"], "rolled_back", "{summary}");
    summary
}

/// Every file below `dir` (none if it does not exist).
pub fn all_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Replaces the first `from` in the sample's instance file with `to`.
pub fn edit_instance_file(sample: &Sample, from: &str, to: &str) {
    let text = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    assert!(text.contains(from), "instance file has {from}");
    std::fs::write(&sample.fx.instance_file, text.replacen(from, to, 1)).unwrap();
}

/// Runs `upshift <args>` with a failpoint that SIGKILLs it at `point`, and
/// checks that it died there.
pub fn kill_at(sample: &Sample, point: &str, args: &[&str]) {
    use std::os::unix::process::ExitStatusExt;
    let out = sample
        .upshift()
        .env("FAILPOINTS", format!("{point}=return(kill)"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "upshift should have died at {point}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
