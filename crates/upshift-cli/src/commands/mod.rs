//! One file per command. Each returns its exit code or an error, which the
//! caller prints and maps to an exit code.

mod backup;
mod check;
mod demo;
mod history;
mod maintenance;
mod plan;
mod status;
mod upgrade;

use crate::cli::{Cli, Command};
use upshift::instance::Instance;
use upshift::Result;

impl Command {
    /// Whether the command was asked for JSON output.
    pub fn json(&self) -> bool {
        match self {
            Command::Plan(t) => t.json,
            Command::Upgrade(u) => u.target.json,
            Command::Status(j) | Command::History(j) | Command::Check(j) => j.json,
            Command::Backups { action } => match action {
                crate::cli::BackupsAction::List(j) | crate::cli::BackupsAction::Verify(j) => j.json,
            },
            Command::Demo(d) => d.json,
            Command::Backup { .. } | Command::Maintenance { .. } => false,
        }
    }
}

/// Runs the command `cli` names.
pub fn dispatch(cli: &Cli) -> Result<i32> {
    if let Command::Demo(args) = &cli.command {
        return demo::run(args);
    }
    let inst = Instance::open(&cli.config, cli.state_dir.as_deref())?;
    match &cli.command {
        Command::Plan(target) => plan::run(&inst, target),
        Command::Upgrade(args) => upgrade::run(&inst, args),
        Command::Status(flag) => status::run(&inst, flag.json),
        Command::History(flag) => history::run(&inst, flag.json),
        Command::Backup { what } => backup::take(&inst, *what),
        Command::Backups { action } => backup::catalog(&inst, action),
        Command::Maintenance { action } => maintenance::run(&inst, *action),
        Command::Check(flag) => check::run(&inst, flag.json),
        Command::Demo(_) => unreachable!("handled above"),
    }
}
