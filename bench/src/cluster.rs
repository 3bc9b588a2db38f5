//! Clusters: the maintenance window of the same upgrade with 1, 2 and 4
//! nodes sharing one database, each node a host of its own (a network
//! namespace with its own sshd, testkit's `SshLab`) reached over ssh.
//!
//! The nodes work in parallel (stop, join, checks), so the window should
//! grow little with the node count; the records compare 2 and 4 nodes with
//! one (issue 5's target: 4 nodes <= 1.3x one node), and each count with
//! the same HA runbook done by hand over ssh (`cluster_runbook.sh`). Each
//! measurement runs `ROUNDS` times on a new cluster and the median counts.
//! Needs root.

use crate::cli;
use crate::install::{Install, TO};
use crate::results::Record;
use crate::Result;
use sample_server::fixture::Options;
use std::path::Path;
use testkit::{Sample, SshLab};

/// The number of projects in the SQLite database at `path`.
fn projects_in(path: &Path) -> Result<i64> {
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg("SELECT count(*) FROM projects")
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// Runs per node count; the median is kept.
const ROUNDS: usize = 3;

/// The shared SQLite database is seeded to this size (MiB), as in the
/// single-server benchmarks' smaller size, so that the window holds a real
/// backup and migration; with the fixture's 200 rows it is about 80 ms of
/// fixed per-step latency, where one node's start more or less shows.
const MB: u64 = 100;

/// The node counts measured; the first is the baseline.
const COUNTS: [usize; 3] = [1, 2, 4];

/// The HA runbook done by hand (see the script's header).
const RUNBOOK: &str = include_str!("cluster_runbook.sh");

pub fn measure(upshift: &Path) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    let mut one = None;
    for n in COUNTS {
        let ms = median(n, "upshift", || window(upshift, n))?;
        let hand = median(n, "by hand", || by_hand(upshift, n))?;
        let one = *one.get_or_insert(ms);
        records.push(Record::new(
            format!("cluster-{n}-nodes-window"),
            ms,
            one,
            "the window with 1 node",
        ));
        records.push(Record::new(
            format!("cluster-{n}-nodes-window-vs-runbook"),
            ms,
            hand,
            "the HA runbook by hand over ssh",
        ));
    }
    Ok(records)
}

/// The median of `ROUNDS` runs of `run`.
fn median(n: usize, what: &str, run: impl Fn() -> Result<u64>) -> Result<u64> {
    let mut runs: Vec<u64> = (0..ROUNDS).map(|_| run()).collect::<Result<_>>()?;
    runs.sort_unstable();
    let median = runs[ROUNDS / 2];
    eprintln!("  {n} node(s), {what}: windows {runs:?} ms, median {median} ms");
    Ok(median)
}

/// A new `n`-node cluster over ssh, its database seeded, every node started.
fn cluster(lab: &SshLab, upshift: &Path) -> Result<Install> {
    let sample = Sample::new(&Options {
        cluster: lab.node_specs(),
        ssh: Some((lab.ssh_config(), upshift.to_path_buf())),
        ..Install::options()
    });
    let mut install = Install::seeded(sample, MB)?;
    let projects: i64 = projects_in(&install.sample.fx.database)?;
    install.expect_projects(projects)?;
    install.write_instance(&install.instance_toml.clone())?;
    install.sample.start();
    Ok(install)
}

/// The window of the runbook done by hand on a new `n`-node cluster.
fn by_hand(upshift: &Path, n: usize) -> Result<u64> {
    let lab = SshLab::new(n);
    let mut install = cluster(&lab, upshift)?;
    let fx = &install.sample.fx;
    let mut env = vec![
        (
            "SSH_CONFIG".to_string(),
            lab.ssh_config().display().to_string(),
        ),
        ("TO".into(), TO.into()),
        (
            "ARCHIVE".into(),
            fx.dir
                .join("feed")
                .join(sample_server::package::archive_name(TO))
                .display()
                .to_string(),
        ),
        ("DB".into(), fx.database.display().to_string()),
        (
            "DUMP".into(),
            fx.dir.join("hand.sqlite").display().to_string(),
        ),
        ("N".into(), n.to_string()),
    ];
    for (i, (node, host)) in fx.nodes.iter().zip(lab.hosts()).enumerate() {
        env.push((format!("NODE_{}", i + 1), host.ip.clone()));
        env.push((format!("ROOT_{}", i + 1), node.root.display().to_string()));
        env.push((format!("URL_{}", i + 1), node.base_url.clone()));
    }
    std::fs::write(fx.dir.join("cluster_runbook.sh"), RUNBOOK)?;
    install.env = env;
    let timings = install.script("cluster_runbook.sh", "upgrade")?;
    timings
        .totals
        .get("window")
        .copied()
        .ok_or_else(|| "cluster_runbook.sh printed no window".into())
}

/// The window of one upgrade of a new `n`-node cluster.
fn window(upshift: &Path, n: usize) -> Result<u64> {
    let lab = SshLab::new(n);
    let install = cluster(&lab, upshift)?;
    let summary = cli::upgrade(upshift, &install.sample.fx.instance_file, "upgraded")?;
    let steps: Vec<String> = summary
        .steps
        .iter()
        .filter(|s| s.in_window)
        .map(|s| format!("{} {}", s.name, s.ms))
        .collect();
    eprintln!(
        "    {n} node(s), {} ms: {}",
        summary.window_ms,
        steps.join(", ")
    );
    Ok(summary.window_ms)
}
