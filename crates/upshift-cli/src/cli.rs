//! The command line, as clap sees it. The contract is DESIGN.md's "CLI
//! contract"; changing it means a CHANGELOG entry.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Upgrade a self-hosted server in place: planned, journaled, verified.
#[derive(Debug, Parser)]
#[command(name = "upshift", version, about)]
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what an upgrade would do; changes nothing.
    Plan(Target),
    /// Upgrade the instance.
    Upgrade(UpgradeArgs),
    /// Show the instance and its last run.
    Status(JsonFlag),
    /// Show past upgrades.
    History(JsonFlag),
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
    /// Run the instance's checks against the running server.
    Check(JsonFlag),
    /// Upgrade a throwaway sample server, for real.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct Target {
    /// Target version (default: newest of the same major).
    #[arg(long)]
    pub to: Option<String>,
    /// Allow a major version upgrade.
    #[arg(long)]
    pub allow_major: bool,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub target: Target,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackupWhat {
    Keys,
    Db,
}

#[derive(Debug, Subcommand)]
pub enum BackupsAction {
    /// List the catalog.
    List(JsonFlag),
    /// Check every catalogued backup again (hash, integrity, decryption).
    Verify(JsonFlag),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MaintenanceAction {
    On,
    Off,
    Status,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo instance in DIR (instance file, data, backups).
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Make the upgrade fail on purpose.
    #[arg(long = "break", value_enum)]
    pub brk: Option<DemoBreak>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DemoBreak {
    Migration,
    Health,
    Start,
}
