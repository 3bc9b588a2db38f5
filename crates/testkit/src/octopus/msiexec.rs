//! A stand-in `msiexec` for the Octopus Server MSI, written from Microsoft's
//! msiexec documentation: `msiexec /i <package> [/quiet|/qn] [NAME=VALUE]...`.
//!
//! The stand-in's "MSI" is a small JSON file (`ProductName`,
//! `ProductVersion`, see `feed.rs`). Installing it writes the version into
//! `INSTALLLOCATION` (a machine's `Octopus` folder, which must be given:
//! the stand-in has no Program Files) and links `Octopus.Server` there.
//! Like the real installer it cannot replace files in use: while a server of
//! that machine runs, it fails. Exit codes as msiexec's: 0 success, 1603
//! fatal error, 1619 package cannot be opened, 1639 invalid command line;
//! a Unix process keeps only the low 8 bits (67, 83 and 103), non-zero all
//! the same. Fault switch `msiexec`: 1603.

use super::files::{read_json, write_json, Installed, MachineDir, World};
use std::path::{Path, PathBuf};

/// Runs `msiexec <args>`, invoked as `argv0`; returns the exit code.
pub fn main(argv0: &Path, args: &[String]) -> i32 {
    let world = match World::find(argv0) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return 1639;
        }
    };
    let mut package = None;
    let mut location = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.to_ascii_lowercase().as_str() {
            "/i" | "/package" => package = it.next().cloned(),
            "/quiet" | "/qn" | "/norestart" => {}
            _ => match arg.split_once('=') {
                Some((name, value)) if name.eq_ignore_ascii_case("INSTALLLOCATION") => {
                    let path = PathBuf::from(value.trim_matches('"'));
                    location = Some(std::fs::canonicalize(&path).unwrap_or(path));
                }
                Some(_) => {}
                None => {
                    eprintln!("msiexec: invalid command line argument `{arg}`");
                    return 1639;
                }
            },
        }
    }
    let machine = location.as_deref().map(MachineDir::of_location);
    world.log(
        &machine.as_ref().map(MachineDir::name).unwrap_or_default(),
        "msiexec",
        args,
    );
    let (Some(package), Some(location)) = (package, location) else {
        eprintln!("msiexec: the stand-in needs /i <package> and INSTALLLOCATION=<folder>");
        return 1639;
    };
    let Ok(product) = read_json::<serde_json::Value>(Path::new(package.trim_matches('"'))) else {
        eprintln!("This installation package could not be opened: {package}");
        return 1619;
    };
    let Some(version) = product["ProductVersion"].as_str() else {
        eprintln!("This installation package could not be opened: no ProductVersion");
        return 1619;
    };
    if world.faulty("msiexec") {
        eprintln!("Fatal error during installation (fault switch msiexec)");
        return 1603;
    }
    let machine = MachineDir::of_location(&location);
    let busy: Vec<String> = world
        .instances()
        .into_iter()
        .filter(|(m, i)| m.0 == machine.0 && m.running(i).is_some())
        .map(|(_, i)| i)
        .collect();
    if !busy.is_empty() {
        eprintln!(
            "Fatal error during installation: files in use by running instances {}",
            busy.join(", ")
        );
        return 1603;
    }
    match install(&location, argv0, version) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Fatal error during installation: {e}");
            1603
        }
    }
}

/// Puts version `version` into `location`, with `Octopus.Server` beside it.
fn install(location: &Path, argv0: &Path, version: &str) -> Result<(), String> {
    std::fs::create_dir_all(location).map_err(|e| e.to_string())?;
    let server = location.join("Octopus.Server");
    if std::fs::symlink_metadata(&server).is_err() {
        let binary = std::fs::canonicalize(argv0).map_err(|e| e.to_string())?;
        std::os::unix::fs::symlink(binary, &server).map_err(|e| e.to_string())?;
    }
    write_json(
        &location.join("installed.json"),
        &Installed {
            version: version.to_string(),
        },
    )
}
