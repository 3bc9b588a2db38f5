//! The PostgreSQL measurements for one database size: the maintenance
//! window (hand-run runbook, upshift `dump`, upshift `snapshot`), the
//! rollback (hand-run `pg_restore` + rename, upshift's restore on a failing
//! upgrade for both strategies) and upshift's own overhead.
//!
//! Every measurement starts from the same point: the seeded database is
//! kept as a template (`<db>_golden`) and the live database is recreated
//! from it (`CREATE DATABASE .. TEMPLATE`, a file copy, so every run sees
//! the same bytes); the installation is reset (see [`Install::reset`]).
//! The failing upgrades use a second feed whose 2026.2.0 has the sample
//! server's `health` break switch on, so the upgrade fails at `checks` and
//! upshift rolls back.

use crate::cli::{self, Summary};
use crate::install::{Install, Timings, TO};
use crate::results::Record;
use crate::Result;
use sample_server::manifest::Break;
use std::path::{Path, PathBuf};
use testkit::{PgCluster, Sample};

/// Parallel jobs: upshift's default, and the hand-run pg_restore's.
const JOBS: &str = "2";

/// Everything one size needs.
#[derive(Debug)]
struct Bench<'a> {
    cluster: &'a PgCluster,
    install: Install,
    db: String,
    golden: String,
    upshift: PathBuf,
    /// The instance file with the failing feed.
    broken_toml: String,
}

/// Runs every PostgreSQL measurement for `mb` MiB; `label` names them.
pub fn measure(
    cluster: &PgCluster,
    upshift: &Path,
    pg_bin: &Path,
    mb: u64,
    label: &str,
) -> Result<Vec<Record>> {
    let db = format!("bench_{label}");
    let sample = Sample::postgres(cluster, &db, "dump", &Install::options());
    let mut install = Install::seeded(sample, mb)?;
    let mut client = cluster.client(&db);
    let projects: i64 = client
        .query_one("SELECT count(*) FROM projects", &[])?
        .get(0);
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])?
        .get(0);
    drop(client);
    eprintln!("  {projects} projects, {} MiB", size >> 20);
    install.expect_projects(projects)?;
    let broken_toml = broken_feed(&install)?;
    install.env = env(cluster, pg_bin, &install, &db)?;
    let bench = Bench {
        cluster,
        golden: format!("{db}_golden"),
        db,
        upshift: upshift.to_path_buf(),
        broken_toml,
        install,
    };
    bench.admin(&format!(
        "CREATE DATABASE {} TEMPLATE {}",
        bench.golden, bench.db
    ))?;
    let measured = bench.run(label);
    let cleaned = bench.clean_up();
    let records = measured?;
    cleaned?;
    Ok(records)
}

impl Bench<'_> {
    fn run(&self, label: &str) -> Result<Vec<Record>> {
        let name = |what: &str| format!("postgres-{label}-{what}");
        eprintln!("  hand-run runbook");
        self.fresh(&self.install.instance_toml)?;
        let hand = self.install.runbook("upgrade")?;
        self.install.stop()?;
        eprintln!("  hand-run pg_restore");
        let restore = self.install.runbook("restore")?;
        let hand_window = total(&hand, "window")?;
        let hand_restore = total(&restore, "restore")?;
        let hand_else = hand_window.saturating_sub(hand_intrinsic(&hand));

        let mut records = Vec::new();
        for strategy in ["dump", "snapshot"] {
            eprintln!("  upshift upgrade, {strategy}");
            let ok = self.upshift(strategy, &self.install.instance_toml, "upgraded")?;
            eprintln!("  upshift upgrade failing at checks, {strategy}");
            let failed = self.upshift(strategy, &self.broken_toml, "rolled_back")?;
            let against = "hand-run runbook, maintenance on to off";
            records.push(Record::new(
                name(&format!("window-{strategy}")),
                ok.window_ms,
                hand_window,
                against,
            ));
            records.push(Record::new(
                name(&format!("window-reported-{strategy}")),
                ok.reported_window_ms,
                hand_window,
                "hand-run runbook; upshift's summary window_ms",
            ));
            records.push(Record::new(
                name(&format!("backup-{strategy}")),
                ok.ms("backup-db"),
                hand.phases["backup-db"],
                "hand-run pg_dump -Fc",
            ));
            records.push(Record::new(
                name(&format!("rollback-restore-{strategy}")),
                failed.ms("undo-backup-db"),
                hand_restore,
                "hand-run pg_restore + rename",
            ));
            records.push(Record::new(
                name(&format!("rollback-whole-{strategy}")),
                failed.undo_ms(),
                hand_restore,
                "hand-run pg_restore + rename",
            ));
            records.push(Record::new(
                name(&format!("overhead-engine-{strategy}")),
                ok.window_ms.saturating_sub(ok.in_window_ms()),
                ok.window_ms,
                "upshift's window (ratio = share)",
            ));
            records.push(Record::new(
                name(&format!("overhead-else-{strategy}")),
                ok.window_ms.saturating_sub(intrinsic(&ok)),
                hand_else,
                "the same remainder of the hand-run runbook",
            ));
        }
        Ok(records)
    }

    /// Runs `upshift upgrade` from a fresh starting point with `toml` and
    /// `strategy`.
    fn upshift(&self, strategy: &str, toml: &str, expected: &str) -> Result<Summary> {
        let text = toml.replace("strategy = \"dump\"", &format!("strategy = \"{strategy}\""));
        self.fresh(&text)?;
        let summary = cli::upgrade(
            &self.upshift,
            &self.install.sample.fx.instance_file,
            expected,
        )?;
        eprintln!(
            "    {}: window {} ms (summary: {} ms), backup-db {} ms, undo {} ms",
            summary.outcome,
            summary.window_ms,
            summary.reported_window_ms,
            summary.ms("backup-db"),
            summary.undo_ms()
        );
        Ok(summary)
    }

    /// The starting point: the server stopped, the live database recreated
    /// from the golden copy, the installation reset, `toml` written, the
    /// server started.
    fn fresh(&self, toml: &str) -> Result<()> {
        self.install.reset()?;
        self.drop_copies()?;
        self.admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db))?;
        self.admin(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            self.db, self.golden
        ))?;
        self.install.write_instance(toml)?;
        self.install.start()
    }

    /// Drops the databases runs leave beside the live one (snapshots,
    /// restores, renamed-away copies): every `<db>_*` but the golden one.
    fn drop_copies(&self) -> Result<()> {
        let mut admin = self.cluster.client("postgres");
        let pattern = format!("{}\\_%", self.db);
        let names: Vec<String> = admin
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2",
                &[&pattern, &self.golden],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for name in names {
            admin.batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))?;
        }
        Ok(())
    }

    fn admin(&self, sql: &str) -> Result<()> {
        self.cluster.client("postgres").batch_execute(sql)?;
        Ok(())
    }

    /// Stops the server and drops every database of this size.
    fn clean_up(&self) -> Result<()> {
        self.install.stop()?;
        self.drop_copies()?;
        for db in [&self.db, &self.golden] {
            self.admin(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
        }
        Ok(())
    }
}

/// The instance file with a feed whose 2026.2.0 fails its health check.
fn broken_feed(install: &Install) -> Result<String> {
    let server_bin = sample_server::package::locate_server_binary()?;
    let feed = sample_server::releases::build_feed(
        &install.dir().join("feed-broken"),
        &server_bin,
        Some((TO, Break::Health)),
    )?;
    let fx = &install.sample.fx;
    let text = install
        .instance_toml
        .replace("source = \"feed\"", "source = \"feed-broken\"")
        .replace(fx.feed.public_key(), feed.public_key());
    if text == install.instance_toml || !text.contains("feed-broken") {
        return Err("the fixture's [release] section changed shape".into());
    }
    Ok(text)
}

/// The runbook's environment: the standard libpq variables and the rest.
fn env(
    cluster: &PgCluster,
    pg_bin: &Path,
    install: &Install,
    db: &str,
) -> Result<Vec<(String, String)>> {
    let password = std::fs::read_to_string(cluster.password_file())?;
    Ok([
        ("BASE", install.sample.fx.base_url.clone()),
        ("TO", TO.to_string()),
        (
            "ARCHIVE",
            install
                .dir()
                .join("feed")
                .join(sample_server::package::archive_name(TO))
                .display()
                .to_string(),
        ),
        (
            "DUMP",
            install.dir().join("hand.dump").display().to_string(),
        ),
        ("PG_BIN", pg_bin.display().to_string()),
        ("JOBS", JOBS.to_string()),
        ("PGHOST", cluster.host().to_string()),
        ("PGPORT", cluster.port().to_string()),
        ("PGUSER", cluster.superuser().to_string()),
        ("PGDATABASE", db.to_string()),
        ("PGPASSWORD", password.trim().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

fn total(timings: &Timings, name: &str) -> Result<u64> {
    timings
        .totals
        .get(name)
        .copied()
        .ok_or_else(|| format!("runbook.sh printed no `{name}`").into())
}

/// The operations both sides must do: back up, migrate, start, stop.
const INTRINSIC: [&str; 4] = ["stop", "backup-db", "migrate", "start"];

fn intrinsic(summary: &Summary) -> u64 {
    INTRINSIC.iter().map(|s| summary.ms(s)).sum()
}

fn hand_intrinsic(timings: &Timings) -> u64 {
    INTRINSIC
        .iter()
        .map(|s| timings.phases.get(*s).copied().unwrap_or_default())
        .sum()
}
