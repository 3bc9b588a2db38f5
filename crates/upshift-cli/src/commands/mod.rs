//! One file per command. Each returns its exit code or an error, which the
//! caller prints and maps to an exit code.

mod backup;
mod check;
mod clone;
#[cfg(feature = "demo")]
pub mod demo;
mod history;
mod init;
mod maintenance;
mod plan;
mod rehearse;
mod resume;
mod rollback;
mod service;
mod status;
mod upgrade;

use crate::cli::{Cli, Command};
use crate::output::errln;
use std::io::{BufRead, IsTerminal};
use upshift::engine::guard::{self, Intent};
use upshift::engine::instance::Instance;
use upshift::{Error, Result};

/// Runs the command `cli` names.
pub fn dispatch(cli: &Cli) -> Result<i32> {
    let json = cli.json;
    match &cli.command {
        #[cfg(feature = "demo")]
        Command::Demo(args) => return demo::run(args, json),
        Command::NodeAgent => return node_agent(),
        Command::Init(args) => return init::run(args, json),
        _ => {}
    }
    let inst = Instance::open(&cli.config, cli.state_dir.as_deref())?;
    crate::output::log::to_state_folder(&inst.state_dir);
    if let Some(warning) = guard::mind_unfinished(&inst, intent(&cli.command))? {
        errln!("warning: {warning}");
    }
    match &cli.command {
        Command::Plan(target) => plan::run(&inst, target, json),
        Command::Upgrade(args) => upgrade::run(&inst, args, json),
        Command::Resume(args) => resume::run(&inst, args, json),
        Command::Rollback(args) => rollback::run(&inst, args, json),
        Command::Status => status::run(&inst, json),
        Command::History => history::run(&inst, json),
        Command::Backup { what } => backup::take(&inst, *what, json),
        Command::Backups { action } => backup::catalog(&inst, action, json),
        Command::Maintenance { action } => maintenance::run(&inst, *action, json),
        Command::Service(args) => service::run(&inst, args, json),
        Command::Check => check::run(&inst, json),
        Command::Clone(args) => clone::run(&inst, args, json),
        Command::Rehearse(args) => rehearse::run(&inst, args, json),
        #[cfg(feature = "demo")]
        Command::Demo(_) => unreachable!("handled above"),
        Command::NodeAgent | Command::Init(_) => {
            unreachable!("handled above")
        }
    }
}

/// How an unfinished run bears on `command` (the rules are the engine's).
fn intent(command: &Command) -> Intent {
    match command {
        Command::Status
        | Command::History
        | Command::Resume(_)
        | Command::Rollback(_)
        | Command::Upgrade(_) => Intent::Settle,
        Command::Clone(_) | Command::Rehearse(_) => Intent::Build,
        _ => Intent::Other,
    }
}

/// `upshift node-agent`: one request from upshift on another machine.
fn node_agent() -> Result<i32> {
    upshift::operations::agent::serve(&mut std::io::stdin().lock(), &mut std::io::stdout().lock())
        .map_err(|e| Error::failed(format!("node agent: {e}")))?;
    Ok(0)
}

/// Asks `question` on a terminal; refuses without one.
fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::input("not on a terminal and --yes not given")
            .hint("pass --yes to go ahead without a prompt"));
    }
    crate::output::prompt(&format!("{question} [y/N]"));
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::input("cancelled; nothing changed"))
    }
}
