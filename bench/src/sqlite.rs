//! The SQLite measurement for one database size: `upshift backup db`
//! against `sqlite3 <db> ".backup <file>"` and `cp` of the stopped file.
//!
//! All three copy the same file, with the server stopped, into the same
//! folder. Each is run three times, interleaved, and the median counts;
//! one `upshift backup db` before them creates upshift's state folder, so
//! the timed ones are an operator's everyday backup. upshift's time is the
//! whole command: opening the instance, the copy (SQLite's online backup
//! API), fsync, `PRAGMA integrity_check` with SHA-256 in parallel, and the
//! catalog entry; the baselines only copy.

use crate::cli::timed;
use crate::install::Install;
use crate::results::Record;
use crate::Result;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use testkit::Sample;

/// Runs of each copy; the median counts.
const RUNS: usize = 3;

/// Measures the three copies of a SQLite database of `mb` MiB.
pub fn measure(upshift: &Path, mb: u64, label: &str) -> Result<Vec<Record>> {
    let install = Install::seeded(Sample::new(&Install::options()), mb)?;
    let db = install.sample.fx.database.clone();
    eprintln!("  SQLite file {} MiB", std::fs::metadata(&db)?.len() >> 20);
    let copy = install.dir().join("copy.sqlite");
    let backup = || {
        timed(
            Command::new(upshift)
                .arg("-c")
                .arg(&install.sample.fx.instance_file)
                .args(["backup", "db"]),
        )
    };
    backup()?;
    let (mut ours, mut sqlite3, mut cp) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        ours.push(backup()?);
        std::fs::remove_file(&copy).or_else(not_found)?;
        sqlite3.push(timed(
            Command::new("sqlite3")
                .arg(&db)
                .arg(format!(".backup '{}'", copy.display())),
        )?);
        std::fs::remove_file(&copy)?;
        cp.push(timed(Command::new("cp").arg(&db).arg(&copy))?);
        std::fs::remove_file(&copy)?;
    }
    let ours = median(ours);
    eprintln!(
        "    upshift {ours} ms, sqlite3 .backup {} ms, cp {} ms",
        median(sqlite3.clone()),
        median(cp.clone())
    );
    Ok(vec![
        Record::new(
            format!("sqlite-{label}-backup-vs-sqlite3"),
            ours,
            median(sqlite3),
            "sqlite3 .backup",
        ),
        Record::new(
            format!("sqlite-{label}-backup-vs-cp"),
            ours,
            median(cp),
            "cp of the stopped file",
        ),
    ])
}

fn median(mut times: Vec<Duration>) -> u64 {
    times.sort();
    times[times.len() / 2].as_millis() as u64
}

fn not_found(e: std::io::Error) -> std::io::Result<()> {
    match e.kind() {
        std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(e),
    }
}
