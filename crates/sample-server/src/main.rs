//! The `sample-server` binary: parse arguments, run, map errors to exit codes
//! (3: schema older than the release needs, 4: schema newer, 1: anything else).

use clap::Parser;
use sample_server::cli;

fn main() {
    if let Err(error) = cli::run(cli::Args::parse()) {
        eprintln!("sample-server: {error:#}");
        std::process::exit(cli::exit_code(&error));
    }
}
