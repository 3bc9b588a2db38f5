//! Clusters: the maintenance window of the same upgrade with 1, 2 and 4
//! nodes sharing one database, each node a host of its own (a network
//! namespace with its own sshd, testkit's `SshLab`) reached over ssh.
//!
//! The nodes work in parallel (stop, join, checks), so the window should
//! grow little with the node count; the records compare 2 and 4 nodes with
//! one (issue 5's target: 4 nodes <= 1.3x one node). Each count runs
//! `ROUNDS` times on a new cluster and the median window counts. Needs root.

use crate::cli;
use crate::install::Install;
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

pub fn measure(upshift: &Path) -> Result<Vec<Record>> {
    let mut windows = Vec::new();
    for n in COUNTS {
        let mut runs: Vec<u64> = (0..ROUNDS)
            .map(|_| window(upshift, n))
            .collect::<Result<_>>()?;
        runs.sort_unstable();
        let median = runs[ROUNDS / 2];
        eprintln!("  {n} node(s): windows {runs:?} ms, median {median} ms");
        windows.push((n, median));
    }
    let one = windows[0].1;
    Ok(windows
        .iter()
        .map(|&(n, ms)| {
            Record::new(
                format!("cluster-{n}-nodes-window"),
                ms,
                one,
                "the window with 1 node",
            )
        })
        .collect())
}

/// The window of one upgrade of a new `n`-node cluster.
fn window(upshift: &Path, n: usize) -> Result<u64> {
    let lab = SshLab::new(n);
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
