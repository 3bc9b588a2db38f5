//! What upshift's environment passes on to the processes it starts.
//!
//! A child inherits upshift's environment (PATH, HOME, locale: what the
//! operator's shell set), except the variables the instance file names as
//! where a secret lives (`{ env = "VAR" }`): upshift reads those itself, and
//! they stayed readable in `/proc/<pid>/environ` of the long-running server
//! it started. The instance file registers them here when it is loaded, and
//! [`apply`] removes them from every command just before it is spawned (all
//! spawns go through `cmd::spawn`). A secret a child does need is given to
//! it explicitly under its own name (`PGPASSWORD` for the pg tools,
//! `[database.env]` for database commands); a name set explicitly on the
//! command is kept, even one that is also withheld.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::process::Command;
use std::sync::Mutex;

/// The variables no child inherits.
static WITHHELD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Keeps the environment variable `var` from every child started from now on.
pub fn withhold(var: &str) {
    WITHHELD
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(var.to_string());
}

/// Removes the withheld variables `command` would inherit.
pub fn apply(command: &mut Command) {
    let withheld = WITHHELD.lock().unwrap_or_else(|e| e.into_inner());
    for var in withheld.iter() {
        let explicit = command.get_envs().any(|(name, _)| name == OsStr::new(var));
        if !explicit {
            command.env_remove(var);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_variables_are_not_inherited_unless_given() {
        std::env::set_var("UPSHIFT_TEST_WITHHELD", "canary-in-env");
        withhold("UPSHIFT_TEST_WITHHELD");
        let env_of = |command: &mut Command| {
            apply(command);
            String::from_utf8(command.output().unwrap().stdout).unwrap()
        };
        let inherited = env_of(Command::new("env").env_clear().env("PATH", "/usr/bin:/bin"));
        assert!(!inherited.contains("canary"), "{inherited}");
        let plain = env_of(&mut Command::new("env"));
        assert!(!plain.contains("UPSHIFT_TEST_WITHHELD"), "{plain}");
        let given = env_of(Command::new("env").env("UPSHIFT_TEST_WITHHELD", "given"));
        assert!(given.contains("UPSHIFT_TEST_WITHHELD=given"), "{given}");
    }
}
