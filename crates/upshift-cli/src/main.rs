//! The `upshift` binary: parse the command line, run, exit with its code.

fn main() {
    let failpoints = fail::FailScenario::setup();
    let code = upshift_cli::main(std::env::args_os());
    failpoints.teardown();
    std::process::exit(code);
}
