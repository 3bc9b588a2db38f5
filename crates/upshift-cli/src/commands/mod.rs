//! One file per command. Each returns its exit code or an error, which the
//! caller prints and maps to an exit code.

mod backup;
mod check;
mod clone;
mod demo;
mod history;
mod init;
mod maintenance;
mod plan;
mod rehearse;
mod resume;
mod rollback;
mod status;
mod upgrade;

use crate::cli::{Cli, Command};
use crate::output::errln;
use std::io::{BufRead, IsTerminal};
use upshift::engine::instance::Instance;
use upshift::engine::state::State;
use upshift::{Error, Result};

impl Command {
    /// Whether the command was asked for JSON output.
    pub fn json(&self) -> bool {
        match self {
            Command::Plan(t) => t.json,
            Command::Upgrade(u) => u.target.json,
            Command::Resume(r) => r.json,
            Command::Rollback(r) => r.json,
            Command::Status(j) | Command::History(j) | Command::Check(j) => j.json,
            Command::Backups { action } => match action {
                crate::cli::BackupsAction::List(j)
                | crate::cli::BackupsAction::Verify(j)
                | crate::cli::BackupsAction::Prune(j) => j.json,
            },
            Command::Demo(d) => d.json,
            Command::Clone(c) => c.json,
            Command::Rehearse(r) => r.target.json,
            Command::Backup { .. }
            | Command::Maintenance { .. }
            | Command::NodeAgent
            | Command::Init(_) => false,
        }
    }
}

/// Runs the command `cli` names.
pub fn dispatch(cli: &Cli) -> Result<i32> {
    match &cli.command {
        Command::Demo(args) => return demo::run(args),
        Command::NodeAgent => return node_agent(),
        Command::Init(args) => return init::run(args),
        _ => {}
    }
    let inst = Instance::open(&cli.config, cli.state_dir.as_deref())?;
    mind_unfinished(&inst, &cli.command)?;
    match &cli.command {
        Command::Plan(target) => plan::run(&inst, target),
        Command::Upgrade(args) => upgrade::run(&inst, args),
        Command::Resume(args) => resume::run(&inst, args),
        Command::Rollback(args) => rollback::run(&inst, args),
        Command::Status(flag) => status::run(&inst, flag.json),
        Command::History(flag) => history::run(&inst, flag.json),
        Command::Backup { what } => backup::take(&inst, *what),
        Command::Backups { action } => backup::catalog(&inst, action),
        Command::Maintenance { action } => maintenance::run(&inst, *action),
        Command::Check(flag) => check::run(&inst, flag.json),
        Command::Clone(args) => clone::run(&inst, args),
        Command::Rehearse(args) => rehearse::run(&inst, args),
        Command::Demo(_) | Command::NodeAgent | Command::Init(_) => {
            unreachable!("handled above")
        }
    }
}

/// While a run is unfinished, commands that would build on the instance's
/// state (clone, rehearse) refuse, and the others say so before they act.
/// `upgrade` refuses on its own, under its lock; `status`, `history`,
/// `resume` and `rollback` are how an operator settles the run.
fn mind_unfinished(inst: &Instance, command: &Command) -> Result<()> {
    let settling = matches!(
        command,
        Command::Status(_)
            | Command::History(_)
            | Command::Resume(_)
            | Command::Rollback(_)
            | Command::Upgrade(_)
    );
    if settling {
        return Ok(());
    }
    let state = inst.state()?;
    if matches!(command, Command::Clone(_) | Command::Rehearse(_)) {
        return refuse_unfinished(&state);
    }
    if let Some(run) = state.unfinished_run()? {
        errln!(
            "warning: run {} ({} -> {}) did not finish ({}); `upshift status` shows where it stopped, `upshift resume` or `upshift rollback` settles it",
            run.id,
            run.from,
            run.to,
            run.status.as_str()
        );
    }
    Ok(())
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

/// Refuses to start a new run while one is unfinished.
fn refuse_unfinished(state: &State) -> Result<()> {
    match state.unfinished_run()? {
        Some(run) => Err(Error::input(format!(
            "run {} ({} -> {}) did not finish: it is {}",
            run.id,
            run.from,
            run.to,
            run.status.as_str()
        ))
        .hint("`upshift status` shows where it stopped; `upshift resume` carries it on, `upshift rollback` undoes it")),
        None => Ok(()),
    }
}
