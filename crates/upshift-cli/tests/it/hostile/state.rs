//! What upshift says about a bad instance file, a bad state folder, an
//! orphaned lock and its own suggested commands (issue 11, item 8): the
//! right line, the right exit code, the truth about who holds the lock,
//! and commands a shell runs as printed.

use sample_server::fixture::Options;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use testkit::{wait_until, Sample, StopGuard, Tmpfs};

/// The exit code and stderr of `upshift <args>` for `sample`.
fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A misspelt field is reported at its own line, not at its table's.
#[test]
fn an_unknown_field_is_reported_at_its_own_line() {
    let sample = Sample::new(&Options::default());
    let file = &sample.fx.instance_file;
    let text =
        std::fs::read_to_string(file)
            .unwrap()
            .replacen("start_timeout = ", "start_timout = ", 1);
    std::fs::write(file, &text).unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with("start_timout"))
        .unwrap();
    let out = sample.run(&["plan"], 2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("unknown field `start_timout`"), "{stderr}");
    assert!(stderr.contains(&format!("see line {line};")), "{stderr}");
}

/// `upshift --state-dir <dir> status` must refuse (exit 2) naming `dir`.
fn refused_state_dir(sample: &Sample, dir: &Path, what: &str) {
    let out = sample
        .upshift()
        .arg("--state-dir")
        .arg(dir)
        .arg("status")
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(
        stderr.contains(&dir.display().to_string()),
        "{what}: the error names the folder: {stderr}"
    );
    assert!(
        stderr.contains("hint:"),
        "{what}: says what to do: {stderr}"
    );
}

/// Remounts the tmpfs at `dir` read-only.
fn remount_read_only(dir: &Path) {
    let done = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(done.success(), "remounting read-only needs root");
}

/// A state folder that is a file, read-only, or on a full disk is bad
/// input (exit 2), not an operator-needed failure (exit 3).
#[test]
fn a_state_folder_that_cannot_be_written_is_bad_input() {
    let sample = Sample::new(&Options::default());

    let file = sample.dir().join("state-is-a-file");
    std::fs::write(&file, "not a folder").unwrap();
    refused_state_dir(&sample, &file, "a file");

    let ro = sample.dir().join("ro");
    let _ro = Tmpfs::mount(&ro, "4m");
    let state = ro.join("state");
    sample.run(&["--state-dir", state.to_str().unwrap(), "status"], 0);
    remount_read_only(&ro);
    refused_state_dir(&sample, &state, "read-only, existing");
    refused_state_dir(&sample, &ro.join("new"), "read-only, new");

    let full = sample.dir().join("full");
    let _full = Tmpfs::mount(&full, "1m");
    let filled = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=64k", "count=64"])
        .arg(format!("of={}", full.join("filler").display()))
        .output()
        .unwrap();
    assert!(!filled.status.success(), "the tmpfs did not fill up");
    refused_state_dir(&sample, &full.join("state"), "full");
}

/// upshift dies (`kill -9`) while its migration runs: the migration keeps
/// the instance lock. `status` must not call the dead upshift "working";
/// it names the orphan holding the lock and what to do.
#[test]
fn status_names_the_orphan_that_holds_the_lock() {
    let sample = Sample::started();
    let file = &sample.fx.instance_file;
    let text = std::fs::read_to_string(file).unwrap();
    let migration = text
        .lines()
        .find(|l| l.starts_with("run = ") && l.contains("migrate"))
        .unwrap();
    let hanging = r#"run = ["sh", "-c", "echo $$ > migrating.pid; exec sleep 120"]"#;
    std::fs::write(file, text.replacen(migration, hanging, 1)).unwrap();
    let mut upgrade = std::process::Command::new(assert_cmd::cargo::cargo_bin("upshift"))
        .arg("-c")
        .arg(file)
        .args(["upgrade", "--yes"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marker = sample.dir().join("migrating.pid");
    let orphan = || -> Option<String> {
        let text = std::fs::read_to_string(&marker).ok()?;
        Some(text.trim().to_string()).filter(|t| !t.is_empty())
    };
    wait_until("the migration to run", Duration::from_secs(60), || {
        orphan().is_some()
    });
    let orphan = orphan().unwrap();
    let _kill_orphan = KillPid(orphan.clone());
    let upshift_pid = upgrade.id().to_string();
    upgrade.kill().unwrap();
    upgrade.wait().unwrap();

    let out = sample.run(&["status"], 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let next = stdout
        .lines()
        .find(|l| l.starts_with("next:"))
        .unwrap_or_else(|| panic!("no next: line in\n{stdout}"));
    assert!(!next.contains("is working on this run right now"), "{next}");
    assert!(
        next.contains(&upshift_pid),
        "names the dead upshift: {next}"
    );
    assert!(next.contains(&orphan), "names the orphan: {next}");
    let json = sample.run(&["status", "--json"], 0);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["run_in_progress"], false, "{json}");
}

/// SIGKILLs a pid when dropped.
struct KillPid(String);

impl Drop for KillPid {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &self.0])
            .status();
    }
}

/// The commands `demo --keep` suggests run as printed, in a shell, for a
/// folder whose name a shell would split or expand.
#[test]
fn demo_suggests_commands_a_shell_runs_as_printed() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("my demo $HOME 'x'");
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(["demo", "--keep"])
        .arg(&dir)
        .output()
        .unwrap();
    let _stop = StopGuard(dir.join("run/server.pid"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The suggestions name this very binary by its path, then `-c FILE`.
    let bin = assert_cmd::cargo::cargo_bin("upshift");
    let suggested: Vec<&str> = stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| l.contains(&*bin.to_string_lossy()) && l.contains(" -c "))
        .collect();
    assert!(!suggested.is_empty(), "no suggested commands in\n{stdout}");
    for line in suggested {
        let ran = std::process::Command::new("sh")
            .arg("-c")
            .arg(line)
            .output()
            .unwrap();
        assert_eq!(
            ran.status.code(),
            Some(0),
            "`{line}` as printed: {}",
            stderr_of(&ran)
        );
    }
}
