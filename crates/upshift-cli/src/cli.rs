//! The command line, as clap sees it. The contract is DESIGN.md's "CLI
//! contract"; changing it means a CHANGELOG entry.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The exit codes, under `--help` (docs/recovery.md explains each).
const EXIT_CODES: &str = "\
Exit codes: 0 done; 1 failed, the instance is healthy on the old version
(also when SIGINT, SIGTERM or SIGHUP ended a run, which then rolled back);
2 bad usage or input, nothing changed; 3 an operator is needed (`upshift
status`), also a run stopped by a signal with --on-failure stop; 128+N
exited at once on signal N: no run in flight, or a second signal aborted
one (`upshift resume` or `upshift rollback` settles it).";

/// Under `demo --help`: the global options it has no use for (clap cannot
/// hide a global option for one subcommand).
#[cfg(feature = "demo")]
const DEMO_IGNORES: &str = "\
-c/--config and --state-dir are ignored: the demo writes its own instance
file and state folder, in DIR with --keep, else in a temporary folder that
is removed at the end.";

/// Upgrade a self-hosted server in place: planned, journaled, verified.
#[derive(Debug, Parser)]
#[command(name = "upshift", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// The instance file.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        default_value = "upshift.toml"
    )]
    pub config: PathBuf,
    /// Where upshift keeps its journal, catalog and backups (overrides the file).
    #[arg(long, global = true)]
    pub state_dir: Option<PathBuf>,
    /// Log more on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Log only errors on stderr (warnings are shown by default).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// One JSON value per line on stdout, of the types in docs/json.md.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what an upgrade would do; changes nothing.
    Plan(Target),
    /// Upgrade the instance.
    Upgrade(UpgradeArgs),
    /// Continue an interrupted run from its journal.
    Resume(ResumeArgs),
    /// Undo an unfinished run, or go back from the last succeeded upgrade.
    Rollback(RollbackArgs),
    /// Show the instance and its last run.
    Status,
    /// Show past upgrades.
    History,
    /// Take a backup now.
    Backup {
        #[arg(value_enum)]
        what: BackupWhat,
    },
    /// The backup catalog.
    Backups {
        #[command(subcommand)]
        action: BackupsAction,
    },
    /// Turn maintenance mode on or off, or show it.
    Maintenance {
        #[arg(value_enum)]
        action: MaintenanceAction,
    },
    /// Start or stop the server on every node, or show whether it runs.
    Service(ServiceArgs),
    /// Run the instance's checks against the running server.
    Check,
    /// Upgrade a throwaway sample server, for real.
    #[cfg(feature = "demo")]
    #[command(after_help = DEMO_IGNORES)]
    Demo(DemoArgs),
    /// Make a test instance from production's latest verified backup.
    Clone(CloneArgs),
    /// Try the upgrade on a clone first: timed, predicted, torn down.
    Rehearse(RehearseArgs),
    /// Serve one request of upshift on another machine (run over ssh by
    /// upshift itself; a JSON request on stdin, the answer on stdout).
    #[command(hide = true)]
    NodeAgent,
    /// Write a commented instance file to start from.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The kind of server the file is for.
    #[arg(long, value_enum)]
    pub product: InitProduct,
    /// Where to write it.
    #[arg(long, default_value = "upshift.toml")]
    pub out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InitProduct {
    /// Octopus Deploy Server: MSI, SQL Server, HA nodes.
    Octopus,
    /// A server shipping archives, run by systemd, on PostgreSQL.
    Generic,
    /// upshift's sample server (see `upshift demo`).
    Sample,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The clone's name (letters, digits, `-`, `_`).
    #[arg(long)]
    pub name: String,
    /// Where to make it (default: <state_dir>/clones/NAME).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Take new backups first (maintenance on, back up, maintenance off).
    #[arg(long)]
    pub fresh_backup: bool,
}

#[derive(Debug, Args)]
pub struct RehearseArgs {
    #[command(flatten)]
    pub target: Target,
    /// Keep the clone afterwards instead of tearing it down.
    #[arg(long)]
    pub keep: bool,
    /// Clone from new backups (maintenance on, back up, maintenance off).
    #[arg(long)]
    pub fresh_backup: bool,
}

#[derive(Debug, Args)]
pub struct Target {
    /// Target version (default: newest of the same major).
    #[arg(long)]
    pub to: Option<String>,
    /// Allow a major version upgrade.
    #[arg(long)]
    pub allow_major: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub target: Target,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// What to do when a step fails inside the maintenance window.
    #[arg(long, value_enum, default_value_t = OnFailure::Rollback)]
    pub on_failure: OnFailure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFailure {
    /// Undo everything and come back up on the old version.
    Rollback,
    /// Stop where it failed, for `resume` or `rollback`.
    Stop,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// What to do when a step fails inside the maintenance window.
    #[arg(long, value_enum, default_value_t = OnFailure::Rollback)]
    pub on_failure: OnFailure,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The run to undo (default: the unfinished run, else the last succeeded upgrade).
    #[arg(long)]
    pub run: Option<String>,
    /// Accept that data written since the upgrade's backup is lost: after a
    /// succeeded upgrade (today's data is backed up first), or an unfinished
    /// run that had started the new version.
    #[arg(long)]
    pub discard_newer_data: bool,
    /// Go on where a rollback cannot be complete: for a succeeded upgrade
    /// whose backup is unusable, roll back the install only; for an
    /// unfinished run, skip undo steps that fail (and settle the run).
    #[arg(long)]
    pub force: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackupWhat {
    Keys,
    Db,
}

#[derive(Debug, Subcommand)]
pub enum BackupsAction {
    /// List the catalog.
    List,
    /// Check every catalogued backup again (hash, integrity, decryption).
    Verify,
    /// Delete backups beyond the retention policy ([backups] keep_db, keep_keys).
    Prune,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MaintenanceAction {
    On,
    Off,
    Status,
}

#[derive(Debug, Args)]
pub struct ServiceArgs {
    #[arg(value_enum)]
    pub action: ServiceAction,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ServiceAction {
    /// Start the version `current` points at (waits until it is ready).
    Start,
    /// Stop it, and prove it is gone.
    Stop,
    /// Whether it runs.
    Status,
}

impl From<ServiceAction> for upshift::operations::service::ServiceAction {
    fn from(value: ServiceAction) -> Self {
        match value {
            ServiceAction::Start => Self::Start,
            ServiceAction::Stop => Self::Stop,
            ServiceAction::Status => Self::Status,
        }
    }
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo instance in DIR (instance file, data, backups) and
    /// the server running.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Make the upgrade fail on purpose, to watch it rolled back.
    #[arg(long = "break", value_enum, value_name = "KIND")]
    pub brk: Option<DemoBreak>,
    /// A cluster of N nodes sharing one database.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub nodes: u16,
}

#[cfg(feature = "demo")]
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DemoBreak {
    Migration,
    Health,
    Start,
}

impl From<OnFailure> for upshift::engine::run::OnFailure {
    fn from(value: OnFailure) -> Self {
        match value {
            OnFailure::Rollback => upshift::engine::run::OnFailure::Rollback,
            OnFailure::Stop => upshift::engine::run::OnFailure::Stop,
        }
    }
}
