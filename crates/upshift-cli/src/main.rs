//! The `upshift` binary: parse the command line, run, exit with its code.

fn main() {
    std::process::exit(upshift_cli::main(std::env::args_os()));
}
