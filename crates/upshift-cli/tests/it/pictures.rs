//! Snapshots of the human output a newcomer sees first: the demo, the
//! rolled-back demo, and `plan`, `status` and `history` on a kept demo.
//! A change of wording shows up in review as a change of a `.snap` file
//! under `snapshots/` (`cargo insta review`, or `INSTA_UPDATE=always`).
//!
//! Design decisions:
//! - Real runs, not rendered fixtures: the words are those of the real
//!   engine on a real sample server.
//! - What differs between runs is filtered to a placeholder in square
//!   brackets: folders, the binary's path, ports, run ids, time stamps,
//!   durations and shares of the window, sizes and hashes. A duration
//!   takes the spaces before it, so right-aligned columns do not move
//!   with the width of a number.
//! - stdout only: that is where the human output goes; the exit code is
//!   asserted beside each picture.

use std::path::Path;

/// `upshift <args>` with its temporary folders under `tmp`; asserts the
/// exit code and returns stdout.
fn human(args: &[&str], tmp: &Path, code: i32) -> String {
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(args)
        .env("TMPDIR", tmp)
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "upshift {args:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `text` as a regular expression matching itself.
fn literal(text: &str) -> String {
    text.chars()
        .flat_map(|c| match "\\.+*?()|[]{}^$#&-~".contains(c) {
            true => vec!['\\', c],
            false => vec![c],
        })
        .collect()
}

/// Takes a picture of `output` as `name`, with what differs between runs
/// filtered (`tmp` is the test's folder).
fn picture(name: &str, output: &str, tmp: &Path) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    let upshift = assert_cmd::cargo::cargo_bin("upshift");
    settings.add_filter(&literal(&upshift.to_string_lossy()), "[UPSHIFT]");
    settings.add_filter(&literal(&tmp.to_string_lossy()), "[TMP]");
    settings.add_filter(r"upshift-demo-[A-Za-z0-9]+", "upshift-demo-[X]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b", "[RUN]");
    settings.add_filter(r"\b\d{8}T\d{6}-\d+\b", "[STAMP]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "[TIME]");
    settings.add_filter(r" *\b\d+(\.\d+)? (ms|s|min|h)\b", " [T]");
    settings.add_filter(r" *\b\d+\.\d%", " [P]");
    settings.add_filter(r"\b\d+ bytes\b", "[N] bytes");
    settings.add_filter(r"\b[0-9a-f]{12}…", "[HASH]…");
    settings.add_filter(r" +\n", "\n");
    settings.bind(|| insta::assert_snapshot!(name, output));
}

#[test]
fn a_kept_demo_then_plan_status_and_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let _stop = testkit::StopGuard(dir.join("run/server.pid"));
    let file = dir.join("upshift.toml");
    let file = file.to_str().unwrap();
    let demo = human(&["demo", "--keep", dir.to_str().unwrap()], tmp.path(), 0);
    picture("demo", &demo, tmp.path());
    for command in ["plan", "status", "history"] {
        let out = human(&["-c", file, command], tmp.path(), 0);
        picture(command, &out, tmp.path());
    }
}

#[test]
fn a_demo_whose_migration_fails_is_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let out = human(&["demo", "--break", "migration"], tmp.path(), 1);
    picture("demo_break_migration", &out, tmp.path());
}
