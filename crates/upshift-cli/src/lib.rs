//! The `upshift` command line: argument parsing, one file per command,
//! rendering, and the mapping from outcomes and errors to exit codes
//! (0 done, 1 failed and the instance is healthy on the old version,
//! 2 bad usage or input and nothing changed, 3 an operator is needed).
//! All the work is done by the `upshift` library.

// Output goes through `output::outln!`/`errln!`, which never fail: a
// `println!` would panic on a closed stdout, inside a run's window.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod output;
mod signals;

use clap::Parser;
use std::ffi::OsString;

/// Runs the command line and returns the exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    #[cfg(feature = "demo")]
    if commands::demo::invoked_as_sample_server(&args) {
        return commands::demo::serve_as_sample_server(args);
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    if !matches!(cli.command, cli::Command::NodeAgent) {
        signals::catch();
    }
    output::log::init(cli.verbose, cli.quiet);
    let json = cli.json;
    match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(error) => output::error::report(&error, json),
    }
}
