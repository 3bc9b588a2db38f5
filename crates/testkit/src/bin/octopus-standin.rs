//! The Octopus stand-in binary (see `testkit::octopus`): plays
//! `Octopus.Server`, `sqlcmd` or `msiexec`, by the name it is invoked as.

fn main() {
    std::process::exit(testkit::octopus::main());
}
