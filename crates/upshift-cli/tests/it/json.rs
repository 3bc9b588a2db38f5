//! The `--json` contract: every line every command prints with `--json` is
//! one `upshift::operations::output::Output`, and nothing else reaches
//! stdout. Each command runs for real on a sample installation (or, for
//! `init` and `demo`, on its own) and each line is parsed back.

use testkit::Sample;
use upshift::operations::output::Output;

/// Every stdout line of `out`, parsed as the contract's type.
fn lines(out: &std::process::Output) -> Vec<Output> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.trim().is_empty(), "no output");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an Output: {l}: {e}")))
        .collect()
}

/// The last line, which says how the command ended.
fn last(out: &std::process::Output) -> Output {
    lines(out).pop().unwrap()
}

#[test]
fn every_command_prints_values_of_one_type() {
    let sample = Sample::started();
    let json = |args: &[&str], code: i32| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        sample.run(&all, code)
    };
    assert!(matches!(last(&json(&["plan"], 0)), Output::Plan(p) if p.from == "2026.1.0"));
    assert!(matches!(last(&json(&["check"], 0)), Output::Checks(c) if c.ok));
    assert!(matches!(
        last(&json(&["maintenance", "status"], 0)),
        Output::Maintenance(m) if m.on == Some(false)
    ));
    assert!(matches!(
        last(&json(&["maintenance", "on"], 0)),
        Output::Maintenance(m) if m.on == Some(true)
    ));
    assert!(matches!(
        last(&json(&["maintenance", "off"], 0)),
        Output::Maintenance(m) if m.on == Some(false)
    ));
    assert!(matches!(
        last(&json(&["backup", "keys"], 0)),
        Output::Backup(_)
    ));
    assert!(matches!(last(&json(&["backup", "db"], 0)), Output::Backup(b) if b.size > 0));

    let upgrade = json(&["upgrade", "--yes", "--to", "2026.1.1"], 0);
    let all = lines(&upgrade);
    assert!(
        all.iter().any(|l| matches!(l, Output::Event(_))),
        "progress events"
    );
    assert!(
        matches!(all.last(), Some(Output::Summary(s)) if s.outcome == "upgraded" && s.exit_code == 0)
    );

    let status = last(&json(&["status"], 0));
    assert!(matches!(&status, Output::Status(s) if s.version.as_deref() == Some("2026.1.1")));
    assert!(matches!(last(&json(&["history"], 0)), Output::History(h) if !h.runs.is_empty()));
    assert!(
        matches!(last(&json(&["backups", "list"], 0)), Output::Backups(b) if b.backups.len() >= 3)
    );
    assert!(lines(&json(&["backups", "verify"], 0))
        .iter()
        .all(|l| matches!(l, Output::Verified(v) if v.ok)));
    assert!(matches!(
        last(&json(&["backups", "prune"], 0)),
        Output::Pruned(_)
    ));

    // An error ends with a summary too: nothing to resume is bad input.
    assert!(matches!(
        last(&json(&["resume"], 2)),
        Output::Summary(s) if s.exit_code == 2 && s.error.is_some()
    ));
    let back = json(&["rollback", "--yes", "--discard-newer-data"], 0);
    assert!(matches!(last(&back), Output::Summary(s) if s.outcome == "rolled_back"));

    let clone = json(&["clone", "--name", "contract"], 0);
    assert!(matches!(last(&clone), Output::Clone(c) if c.name == "contract"));
    let dir = sample.state_dir().join("clones/contract");
    let _stop = testkit::StopGuard(dir.join("run/server.pid"));
    let rehearsal = json(&["rehearse", "--to", "2026.1.1"], 0);
    assert!(matches!(last(&rehearsal), Output::Rehearsal(r) if r.exit_code == 0));
}

#[test]
fn init_and_demo_print_values_of_the_same_type() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("upshift.toml");
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(["init", "--json", "--product", "generic", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(matches!(last(&out), Output::Init(i) if i.file == file && i.product == "generic"));

    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .args(["demo", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(matches!(last(&out), Output::Summary(s) if s.outcome == "upgraded"));
}
