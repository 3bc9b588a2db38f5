//! Time is counted where it is spent (issue 20): a failed undo has its row
//! in the report, and the report of a run finished by a second command
//! holds the steps of the first (marked `earlier`), so the window's rest,
//! "(journal, between)", is only time no step spent. `history` shows the
//! whole window too.

use crate::support::{edit_instance_file, serving, summary};
use sample_server::fixture::Options;
use sample_server::manifest::Break;
use serde_json::Value;
use testkit::Sample;

/// How long the undo's checks retry a check that cannot pass.
const HELD_MS: u64 = 2000;

/// The window minus every in-window step's time.
fn between(summary: &Value) -> u64 {
    let spent: u64 = summary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["in_window"] == true)
        .map(|s| s["ms"].as_u64().unwrap())
        .sum();
    summary["window_ms"].as_u64().unwrap().saturating_sub(spent)
}

fn step<'a>(summary: &'a Value, name: &str, earlier: bool) -> &'a Value {
    summary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name && s["earlier"].as_bool().unwrap_or(false) == earlier)
        .unwrap_or_else(|| panic!("no {name} (earlier: {earlier}) in {summary}"))
}

fn json(sample: &Sample, args: &[&str], code: i32) -> Value {
    let out = sample.upshift().args(args).arg("--json").output().unwrap();
    let summary = summary(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    summary
}

#[test]
fn a_failed_undo_and_earlier_commands_count_in_the_report() {
    let sample = Sample::new(&Options {
        brk: Some(("2026.2.0".into(), Break::Health)),
        ..Options::default()
    });
    edit_instance_file(&sample, "within = \"10s\"", "within = \"1s\"");
    let held = format!(
        "\n[[checks]]\nkind = \"command\"\nname = \"not held\"\nrun = [\"sh\", \"-c\", \"! test -e hold\"]\nwithin = \"{HELD_MS}ms\"\n"
    );
    let text = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    std::fs::write(&sample.fx.instance_file, text + &held).unwrap();
    sample.start();
    let rollback = ["rollback", "--yes", "--discard-newer-data"];

    json(&sample, &["upgrade", "--yes", "--on-failure", "stop"], 3);
    let hold = sample.fx.dir.join("hold");
    std::fs::write(&hold, "").unwrap();
    let failed = json(&sample, &rollback, 3);
    let undo_stop = step(&failed, "undo-stop", false);
    assert_eq!(undo_stop["failed"], true, "{undo_stop}");
    assert!(undo_stop["ms"].as_u64().unwrap() >= HELD_MS, "{undo_stop}");
    assert!(step(&failed, "checks", true)["failed"] == true, "{failed}");
    assert!(between(&failed) < HELD_MS, "{failed}");

    std::fs::remove_file(&hold).unwrap();
    let done = json(&sample, &rollback, 1);
    assert_eq!(done["outcome"], "rolled_back");
    serving(&sample, "2026.1.0");
    for earlier in ["stop", "start", "checks", "undo-start", "undo-stop"] {
        step(&done, earlier, true);
    }
    assert!(
        step(&done, "undo-stop", true)["ms"].as_u64().unwrap() >= HELD_MS,
        "{done}"
    );
    step(&done, "undo-maintenance-on", false);
    assert!(between(&done) < HELD_MS, "{done}");

    let out = sample
        .upshift()
        .args(["history", "--json"])
        .output()
        .unwrap();
    let history = crate::support::json_lines(&out.stdout);
    let run = history[0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == done["run_id"])
        .unwrap_or_else(|| panic!("run in history: {:?}", history));
    assert_eq!(run["window_ms"], done["window_ms"]);
    assert!(
        done["window_ms"].as_u64().unwrap() >= failed["window_ms"].as_u64().unwrap(),
        "the window spans every command: {done}"
    );
}
