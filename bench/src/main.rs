//! `upshift-bench [--quick]`: upshift against the same upgrade runbook done
//! by hand with the standard tools, in one run, as ratios. Not a test: it
//! measures and reports, it asserts nothing (`bench/run` builds and runs it;
//! docs/BENCHMARKS.md keeps the latest results).
//!
//! For each size (100 MiB and 1 GiB; `--quick`: 100 MiB only) it fills a
//! sample database with the sample server's own generator on a throwaway
//! PostgreSQL cluster of its own (testkit's `PgCluster`), measures the
//! window, the rollback and the overhead there, then the SQLite backup. It
//! prints a table of ratios (upshift / baseline; below 1 upshift is
//! faster), checks the targets of issue 4 (reported, not asserted), and
//! writes `<target dir>/bench/results.json`. Then the window of a cluster
//! of 1, 2 and 4 nodes reached over ssh (needs root: network namespaces);
//! `--cluster` measures only that.
//!
//! Everything it starts (sample servers, the cluster) belongs to values
//! that stop it when dropped, so an error or a panic stops them too.

mod cli;
mod cluster;
mod install;
mod postgres;
mod results;
mod sqlite;

use results::{find, Record};
use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let (quick, only_cluster) = match std::env::args().nth(1).as_deref() {
        None => (false, false),
        Some("--quick") => (true, false),
        Some("--cluster") => (true, true),
        Some(other) => {
            return Err(format!(
                "unknown argument {other:?}; usage: upshift-bench [--quick | --cluster]"
            )
            .into())
        }
    };
    let sizes: &[(u64, &str)] = if quick {
        &[(100, "100mb")]
    } else {
        &[(100, "100mb"), (1024, "1gb")]
    };
    if only_cluster {
        let upshift = cli::locate()?;
        let records = cluster::measure(&upshift)?;
        println!("\n{}", results::table(&records));
        for line in targets(&records, "") {
            println!("  {line}");
        }
        return Ok(());
    }
    let upshift = cli::locate()?;
    let pg_bin = pg_bin()?;
    let started = std::time::Instant::now();
    let cluster = testkit::PgCluster::start();
    eprintln!(
        "PostgreSQL cluster on {}:{} (fsync off), tools in {}",
        cluster.host(),
        cluster.port(),
        pg_bin.display()
    );
    let mut records = Vec::new();
    for &(mb, label) in sizes {
        eprintln!("PostgreSQL, {label}");
        records.extend(postgres::measure(&cluster, &upshift, &pg_bin, mb, label)?);
        eprintln!("SQLite, {label}");
        records.extend(sqlite::measure(&upshift, mb, label)?);
    }
    drop(cluster);
    eprintln!("Clusters of 1, 2 and 4 nodes over ssh");
    records.extend(cluster::measure(&upshift)?);
    println!("\n{}", results::table(&records));
    let (size, note) = sizes.last().copied().map_or(("", ""), |(_, l)| {
        (
            l,
            if l == "1gb" {
                ""
            } else {
                " (targets are set for 1 GB)"
            },
        )
    });
    println!("Targets, on {size}{note}:");
    for line in targets(&records, size) {
        println!("  {line}");
    }
    let out = target_dir()?.join("bench/results.json");
    results::write_json(&out, &records)?;
    println!(
        "\nwrote {} ({} records) in {:.0} s",
        out.display(),
        records.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Issue 4's targets, each `met` or `missed` with its numbers.
fn targets(records: &[Record], size: &str) -> Vec<String> {
    let ratio = |name: &str| find(records, name).map(|r| r.ratio);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let mut lines = Vec::new();
    if let Some(r) = ratio(&format!("postgres-{size}-window-snapshot")) {
        lines.push(format!(
            "window, snapshot <= 0.3x hand-run runbook: {r:.3}x, {}",
            verdict(r <= 0.3)
        ));
    }
    for what in [
        "rollback-restore-snapshot",
        "rollback-whole-snapshot",
        "rollback-restore-dump",
    ] {
        if let Some(r) = ratio(&format!("postgres-{size}-{what}")) {
            lines.push(format!(
                "{what} <= 0.1x hand-run pg_restore: {r:.3}x, {}",
                verdict(r <= 0.1)
            ));
        }
    }
    if let Some(r) = ratio(&format!("sqlite-{size}-backup-vs-sqlite3")) {
        let throughput = 1.0 / r;
        lines.push(format!(
            "SQLite backup throughput >= 0.9x sqlite3 .backup: {throughput:.3}x, {}",
            verdict(throughput >= 0.9)
        ));
    }
    for strategy in ["dump", "snapshot"] {
        if let Some(r) = find(
            records,
            &format!("postgres-{size}-overhead-engine-{strategy}"),
        ) {
            let share = r.ratio * 100.0;
            lines.push(format!(
                "overhead ({strategy}) <= 2% of the window and <= 150 ms: {} ms = {share:.2}% of {} ms, {}",
                r.upshift_ms,
                r.baseline_ms,
                verdict(share <= 2.0 && r.upshift_ms <= 150)
            ));
        }
    }
    if let Some(r) = ratio("cluster-4-nodes-window") {
        lines.push(format!(
            "window with 4 nodes <= 1.3x one node: {r:.3}x, {}",
            verdict(r <= 1.3)
        ));
    }
    lines
}

/// Where `pg_dump`, `pg_restore` and `psql` are: the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout), else beside `pg_dump` on
/// PATH.
fn pg_bin() -> Result<PathBuf> {
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_dump").is_file().then_some((major, bin))
        })
        .collect();
    debian.sort();
    let on_path =
        || std::env::split_paths(&std::env::var_os("PATH")?).find(|d| d.join("pg_dump").is_file());
    debian
        .pop()
        .map(|(_, bin)| bin)
        .or_else(on_path)
        .ok_or_else(|| {
            "pg_dump not found (/usr/lib/postgresql/*/bin, PATH): install the `postgresql` package"
                .into()
        })
}

/// Cargo's target folder: two levels above this binary (`target/release/`).
fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.parent()
        .and_then(|release| release.parent())
        .map(PathBuf::from)
        .ok_or_else(|| "cannot find the target folder".into())
}
