//! The library's log lines reach the operator: a warning is shown on stderr
//! by default and kept in the state folder's log, `-q` leaves it out, and
//! stdout stays JSON only.

use crate::support::json_lines;
use testkit::Sample;

/// A file in the release cache that is not the release: upshift warns,
/// downloads again and upgrades.
fn with_a_corrupt_cache() -> Sample {
    let sample = Sample::started();
    let cache = sample.state_dir().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join("sample-server-2026.1.1.tar.gz"),
        b"not an archive",
    )
    .unwrap();
    sample
}

#[test]
fn a_warning_is_shown_on_stderr_and_never_on_stdout() {
    let sample = with_a_corrupt_cache();
    let out = sample.run(&["upgrade", "--yes", "--json", "--to", "2026.1.1"], 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARN"), "stderr: {stderr}");
    assert!(
        stderr.contains("is not the release, downloading again"),
        "stderr: {stderr}"
    );
    // Every stdout line is still JSON.
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(json_lines(&out.stdout).len(), lines);
    assert_eq!(sample.get("/api").1["Version"], "2026.1.1");
    // The same warning is kept in the state folder, stamped, private.
    let log = sample.state_dir().join("logs/upshift.log");
    let kept = std::fs::read_to_string(&log).unwrap();
    assert!(
        kept.contains("is not the release, downloading again"),
        "log: {kept}"
    );
    assert!(kept.starts_with("20"), "stamped: {kept}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn quiet_leaves_warnings_out() {
    let sample = with_a_corrupt_cache();
    let out = sample.run(&["-q", "upgrade", "--yes", "--to", "2026.1.1"], 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("is not the release"), "stderr: {stderr}");
}
