//! Clusters: several sample-server nodes sharing one database, upgraded as
//! the runbook's HA order says (stop all, migrate once on the first node,
//! the others switch and start together, every node checked).
//!
//! Each scenario runs on nodes of this machine and on real separate hosts:
//! network namespaces joined by veth pairs, each with its own sshd, reached
//! through the system `ssh` ([`SshLab`]).

use crate::support::{same_rows, summary};
use sample_server::cluster::NodeSpec;
use sample_server::fixture::Options;
use std::os::unix::fs::PermissionsExt;
use testkit::{wait_until, Sample, SshLab};
use upshift::engine::state::{State, StepStatus};

const FROM: &str = "2026.1.0";
const TO: &str = "2026.2.0";

/// A started 3-node cluster, local or on `lab`'s hosts; the last node's
/// health fails on the new release when `sick_last`.
fn cluster(lab: Option<&SshLab>, sick_last: bool) -> Sample {
    let mut specs: Vec<NodeSpec> = match lab {
        Some(lab) => lab.node_specs(),
        None => vec![NodeSpec::local(); 3],
    };
    if sick_last {
        specs[2].unhealthy_on = Some(TO.into());
    }
    started(lab, specs)
}

/// A started `n`-node cluster, local or on `lab`'s hosts.
fn cluster_of(lab: Option<&SshLab>, n: usize) -> Sample {
    let specs = match lab {
        Some(lab) => lab.node_specs(),
        None => vec![NodeSpec::local(); n],
    };
    started(lab, specs)
}

fn started(lab: Option<&SshLab>, specs: Vec<NodeSpec>) -> Sample {
    let sample = Sample::new(&Options {
        cluster: specs,
        ssh: lab.map(|lab| {
            let agent = assert_cmd::cargo::cargo_bin("upshift");
            (lab.ssh_config(), agent)
        }),
        ..Options::default()
    });
    sample.start();
    sample
}

/// Every node serves `version`, healthy, out of maintenance.
fn every_node_on(sample: &Sample, version: &str) {
    for node in &sample.fx.nodes {
        let (_, api) = Sample::get_at(&node.base_url, "/api");
        assert_eq!(api["Version"], version, "{}", node.name);
        assert_eq!(
            Sample::get_at(&node.base_url, "/api/health").0,
            200,
            "{}",
            node.name
        );
    }
    assert_eq!(
        sample.get("/api/maintenance").1["IsInMaintenanceMode"],
        false
    );
}

fn pids(sample: &Sample) -> Vec<String> {
    sample
        .fx
        .nodes
        .iter()
        .map(|n| std::fs::read_to_string(&n.pidfile).unwrap_or_default())
        .collect()
}

/// Each node's part of each step, as the journal of the last run has it.
fn node_rows(sample: &Sample) -> Vec<(String, StepStatus)> {
    let state = State::open(&sample.state_dir()).unwrap();
    let run = state.runs(1).unwrap().remove(0);
    state
        .steps(&run.id)
        .unwrap()
        .into_iter()
        .filter(|s| s.name.contains('@'))
        .map(|s| (s.name, s.status))
        .collect()
}

fn upgrades_every_node(lab: Option<&SshLab>) {
    let sample = cluster(lab, false);
    let before = sample.snapshot();
    let pids_before = pids(&sample);
    let out = sample.run(&["upgrade", "--yes", "--json"], 0);
    let summary = summary(&out.stdout);
    assert_eq!(summary["outcome"], "upgraded");
    every_node_on(&sample, TO);
    same_rows(&before, &sample.snapshot());
    for (old, new) in pids_before.iter().zip(pids(&sample)) {
        assert_ne!(old, &new, "every node was restarted");
    }
    let rows = node_rows(&sample);
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    for node in ["node-1", "node-2", "node-3"] {
        assert!(
            names.contains(&format!("stop@{node}").as_str()),
            "{names:?}"
        );
        assert!(
            names.contains(&format!("stage@{node}").as_str()),
            "{names:?}"
        );
    }
    // The database is migrated once, on the first node, after every node
    // stopped; the others join after it.
    let at = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n} in {names:?}"))
    };
    assert!(at("stop@node-3") < at("switch@node-1"));
    assert!(at("switch@node-1") < at("migrate@node-1"));
    assert!(at("migrate@node-1") < at("start@node-1"));
    assert!(!names.contains(&"migrate@node-3"), "{names:?}");
    assert!(at("start@node-1") < at("join@node-2"));
    assert!(rows.iter().all(|(_, s)| *s == StepStatus::Done), "{rows:?}");
    let steps = summary["steps"].as_array().expect("steps");
    let migrate = steps
        .iter()
        .find(|s| s["step"] == "migrate")
        .expect("migrate step");
    assert!(
        migrate["detail"]
            .as_str()
            .unwrap_or_default()
            .ends_with("on node-1"),
        "{migrate}"
    );
    let join = steps
        .iter()
        .find(|s| s["step"] == "join")
        .expect("join step");
    assert_eq!(join["nodes"].as_array().map(Vec::len), Some(2), "{join}");
}

fn sick_last_node_rolls_back_every_node(lab: Option<&SshLab>) {
    let sample = cluster(lab, true);
    let before = sample.snapshot();
    let out = sample.run(&["upgrade", "--yes", "--json"], 1);
    let summary = summary(&out.stdout);
    assert_eq!(summary["outcome"], "rolled_back");
    let error = summary["error"].as_str().unwrap_or_default();
    assert!(error.contains("node-3") && error.contains("418"), "{error}");
    every_node_on(&sample, FROM);
    same_rows(&before, &sample.snapshot());
    for node in &sample.fx.nodes {
        let current = std::fs::read_link(node.root.join("current")).unwrap();
        assert!(
            current.ends_with(FROM),
            "{}: {}",
            node.name,
            current.display()
        );
    }
}

#[test]
fn local_cluster_upgrades_every_node() {
    upgrades_every_node(None);
}

#[test]
fn local_cluster_with_a_sick_node_rolls_back_every_node() {
    sick_last_node_rolls_back_every_node(None);
}

#[test]
fn ssh_cluster_upgrades_every_node() {
    let lab = SshLab::new(3);
    upgrades_every_node(Some(&lab));
}

#[test]
fn ssh_cluster_with_a_sick_node_rolls_back_every_node() {
    let lab = SshLab::new(3);
    sick_last_node_rolls_back_every_node(Some(&lab));
}

#[test]
fn a_node_lost_mid_run_stops_the_run_and_resume_finishes_it() {
    let lab = SshLab::new(3);
    let sample = cluster(Some(&lab), false);
    let before = sample.snapshot();
    let lost = &lab.hosts()[2];
    // The failpoint runs this just before `join`: node-3's sshd dies with
    // every connection it serves.
    let pids = format!("$(ip netns pids {})", lost.ns);
    let out = upgrade_with_hook(
        &sample,
        "before-join",
        "kill-sshd",
    format!("#!/bin/sh\nfor p in {pids}; do [ \"$(cat /proc/$p/comm)\" = sshd ] && kill -KILL $p; done\nexit 0\n"),
    );
    let error = failed_with(&out, 3);
    assert!(
        error.contains("node-3") && error.contains("cannot reach"),
        "{error}"
    );
    // The journal says which node is where: node-2 joined, node-3 did not.
    let rows = node_rows(&sample);
    assert!(
        rows.contains(&("join@node-2".into(), StepStatus::Done)),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("join@node-3".into(), StepStatus::Failed)),
        "{rows:?}"
    );
    let status = sample.run(&["status"], 0);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("join@node-3"), "{status}");
    // Still unreachable: resume stops again, changing nothing.
    sample.run(&["resume"], 3);
    lost.start_sshd();
    wait_until(
        "node-3 reachable",
        std::time::Duration::from_secs(10),
        || std::net::TcpStream::connect(format!("{}:22", lost.ip)).is_ok(),
    );
    let out = sample.run(&["resume", "--json"], 0);
    assert_eq!(summary_of(&out.stdout), "upgraded");
    every_node_on(&sample, TO);
    same_rows(&before, &sample.snapshot());
}

fn summary_of(stdout: &[u8]) -> String {
    summary(stdout)["outcome"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// While an upgrade runs, a second operator (another state folder, as on
/// another machine) is refused by the database's lock, and changes nothing.
fn second_operator_is_refused(sample: &Sample, busy: &str) {
    sample.start();
    let other = sample.dir().join("other-operator");
    let out = upgrade_with_hook(
        sample,
        "before-stop",
        "second-operator",
    format!(
        "#!/bin/sh\n'{upshift}' -c '{file}' --state-dir '{other}' upgrade --yes > '{other}.out' 2> '{other}.err' < /dev/null\necho $? > '{other}.code'\n",
        upshift = assert_cmd::cargo::cargo_bin("upshift").display(),
        file = sample.fx.instance_file.display(),
        other = other.display(),
    ),
    );
    assert_eq!(
        summary_of(&out.stdout),
        "upgraded",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", other.display())).unwrap();
    assert_eq!(read("code").trim(), "2", "{}", read("err"));
    let err = read("err");
    assert!(err.contains(busy) && err.contains("upshift"), "{err}");
    let state = State::open(&other).unwrap();
    assert!(
        state.runs(10).unwrap().is_empty(),
        "the refused operator started a run"
    );
}

#[test]
fn a_second_operator_is_refused_on_sqlite() {
    let sample = Sample::new(&Options::default());
    second_operator_is_refused(&sample, "database is busy");
}

#[test]
fn a_second_operator_is_refused_on_postgres() {
    let cluster = testkit::PgCluster::start();
    let sample = Sample::postgres(&cluster, "second_operator", "snapshot", &Options::default());
    second_operator_is_refused(&sample, "holds upshift's lock");
}

/// A node started behind upshift's back after the stop (a watchdog, say)
/// makes the migration refuse: the run rolls back, the database untouched.
#[test]
fn migration_is_refused_while_a_node_runs() {
    let sample = cluster(None, false);
    let before = sample.snapshot();
    let node = &sample.fx.nodes[1];
    let out = upgrade_with_hook(
        &sample,
        "before-migrate",
        "watchdog",
    format!(
        "#!/bin/sh\ncd '{dir}'\n'{root}/current/bin/sample-server' serve --config '{root}/server.toml' > /dev/null 2>&1 < /dev/null &\npid=$!\necho \"$pid $(cut -d' ' -f22 /proc/$pid/stat)\" > '{pidfile}'\necho $pid > '{dir}/rogue.pid'\n",
        dir = sample.dir().display(),
        root = node.root.display(),
        pidfile = node.pidfile.display(),
    ),
    );
    let error = failed_with(&out, 1);
    assert!(
        error.contains("refusing to upgrade the database: node-2 still running"),
        "{error}"
    );
    // The node started behind upshift's back was stopped before the
    // database was restored (and node-2 started again on the old version).
    let rogue = std::fs::read_to_string(sample.dir().join("rogue.pid")).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", rogue.trim())).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "the rogue node-2 still runs: {stat}"
    );
    every_node_on(&sample, FROM);
    same_rows(&before, &sample.snapshot());
}

/// `rollback` of a succeeded cluster upgrade takes every node back.
#[test]
fn local_cluster_rollback_of_a_succeeded_upgrade() {
    let sample = cluster(None, false);
    let before = sample.snapshot();
    sample.run(&["upgrade", "--yes"], 0);
    every_node_on(&sample, TO);
    let out = sample.run(&["rollback", "--yes", "--discard-newer-data", "--json"], 0);
    assert_eq!(summary_of(&out.stdout), "rolled_back");
    every_node_on(&sample, FROM);
    same_rows(&before, &sample.snapshot());
}

/// `upshift upgrade --yes --json` that runs the shell script `text` (saved
/// as `name`) at the failpoint `point`, then goes on.
fn upgrade_with_hook(
    sample: &Sample,
    point: &str,
    name: &str,
    text: String,
) -> std::process::Output {
    let script = sample.dir().join(name);
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sample
        .upshift()
        .args(["upgrade", "--yes", "--json"])
        .env(
            "FAILPOINTS",
            format!("{point}=return(run:{})", script.display()),
        )
        .output()
        .unwrap()
}

/// upshift killed (`kill -9`) at a step boundary of a cluster's run, then
/// the run finished by `resume` (new version everywhere) or `rollback`
/// (old version everywhere), the data intact either way.
/// Returns how many node rows the kill cut off (left `started`).
fn killed_then(point: &str, sick_last: bool, finish: &str) -> usize {
    let sample = cluster(None, sick_last);
    let before = sample.snapshot();
    let out = sample
        .upshift()
        .args(["upgrade", "--yes", "--json"])
        .env("FAILPOINTS", format!("{point}=return(kill)"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None, "upshift was not killed at {point}");
    let cut_off = node_rows(&sample)
        .into_iter()
        .filter(|(_, s)| *s == StepStatus::Started)
        .count();
    if finish == "resume" {
        sample.run(&["resume"], 0);
        every_node_on(&sample, TO);
        assert_eq!(sample.snapshot().schema_version, 2, "migrated once");
    } else {
        // An unfinished run rolled back ends "failed and rolled back".
        sample.run(&["rollback", "--yes", "--discard-newer-data"], 1);
        every_node_on(&sample, FROM);
        assert_eq!(
            sample.snapshot().schema_version,
            1,
            "the database went back"
        );
    }
    same_rows(&before, &sample.snapshot());
    // Node rows the kill cut off are marked, not left "started".
    let still = node_rows(&sample)
        .into_iter()
        .filter(|(_, s)| *s == StepStatus::Started)
        .count();
    assert_eq!(still, 0, "{cut_off} node row(s) were cut off by the kill");
    cut_off
}

/// One test per kill point and way of finishing the run.
macro_rules! killed {
    ($($name:ident: $point:literal, $sick_last:literal, $finish:literal;)*) => {
        $(
            #[test]
            fn $name() {
                killed_then($point, $sick_last, $finish);
            }
        )*
    };
}

killed! {
    killed_after_stop_then_resume: "after-stop", false, "resume";
    killed_after_stop_then_rollback: "after-stop", false, "rollback";
    killed_before_join_then_resume: "before-join", false, "resume";
    killed_before_join_then_rollback: "before-join", false, "rollback";
    killed_after_join_then_resume: "after-join", false, "resume";
    killed_in_the_rollback_of_a_sick_node_then_rollback: "before-undo-stop", true, "rollback";
}

#[test]
fn killed_inside_a_nodes_switch_then_resume() {
    // Inside node-1's part of `switch`: its journal row is cut off.
    assert!(killed_then("switch-link", false, "resume") > 0);
}

/// A node that does not answer before the window opens is bad input: the
/// upgrade is refused (exit 2) and every node keeps running the old version.
#[test]
fn an_unreachable_node_at_preflight_changes_nothing() {
    let lab = SshLab::new(2);
    let sample = cluster_of(Some(&lab), 2);
    let pids_before = pids(&sample);
    lab.hosts()[1].kill_sshd();
    let out = sample
        .upshift()
        .args(["upgrade", "--yes", "--json"])
        .output()
        .unwrap();
    let error = failed_with(&out, 2);
    assert!(
        error.contains("cannot reach") && error.contains(&lab.hosts()[1].ip),
        "{error}"
    );
    assert_eq!(pids(&sample), pids_before, "a node was restarted");
    for node in &sample.fx.nodes {
        let current = std::fs::read_link(node.root.join("current")).unwrap();
        assert!(
            current.ends_with(FROM),
            "{}: {}",
            node.name,
            current.display()
        );
    }
    assert_eq!(
        sample.get("/api/maintenance").1["IsInMaintenanceMode"],
        false
    );
}

/// Mistakes in `[[nodes]]` are refused when the file is loaded (exit 2),
/// naming the field.
#[test]
fn bad_node_entries_are_refused() {
    let sample = cluster_of(None, 2);
    let text = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    for (from, to, says) in [
        (
            "name = \"node-2\"",
            "name = \"node-1\"",
            "node `node-1` is listed twice",
        ),
        (
            "host = \"local\"",
            "host = \"node-9.example\"",
            "nodes[0].host",
        ),
        (
            "host = \"local\"",
            "host = \"ssh://a b@h\"",
            "is not `local` or `ssh://user@host[:port]`",
        ),
    ] {
        std::fs::write(&sample.fx.instance_file, text.replacen(from, to, 1)).unwrap();
        let out = sample.run(&["plan"], 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{to}: {stderr}");
    }
}

/// The summary's error of a run that must have exited with `code`.
fn failed_with(out: &std::process::Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    summary(&out.stdout)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
