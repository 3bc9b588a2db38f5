//! `upshift demo`: a throwaway sample server, upgraded for real.
//!
//! It lays out a sample installation (signed feed, installed release,
//! seeded database, keys, instance file), starts it, queues some work so
//! the drain has something to wait for, and upgrades it to the newest
//! release of its major with the same engine as `upshift upgrade`. With
//! `--nodes N` it is a cluster of N local nodes sharing one database. With
//! `--keep DIR` everything stays (and the server keeps running) so other
//! commands can be tried on it; otherwise the server is stopped and the
//! folder removed, and it says so. The commands it suggests name this very
//! binary and are shell-quoted, so they run as printed whatever the folder's
//! name and whether or not `upshift` is on PATH.

use crate::cli::{DemoArgs, DemoBreak};
use crate::output::{errln, outln};
use crate::output::{progress::Progress, report};
use sample_server::cluster::NodeSpec;
use sample_server::fixture::{self, Options};
use sample_server::manifest::Break;
use std::path::{Path, PathBuf};
use upshift::engine::instance::Instance;
use upshift::engine::plan::Request;
use upshift::engine::run::OnFailure;
use upshift::operations::runs::{self, Action};
use upshift::{Error, Result};

/// The release a `--break` switch is put into: the minor upgrade's target.
const BROKEN_RELEASE: &str = "2026.2.0";

pub fn run(args: &DemoArgs, json: bool) -> Result<i32> {
    let server_bin = match sample_server::package::locate_server_binary() {
        Ok(built) => built,
        Err(_) => std::env::current_exe().map_err(|e| {
            Error::failed(format!(
                "cannot find the running upshift to serve the demo: {e}"
            ))
        })?,
    };
    let (temp, dir) = folder(args.keep.as_deref())?;
    let cluster = match args.nodes {
        1 => Vec::new(),
        n => vec![NodeSpec::local(); usize::from(n)],
    };
    let options = Options {
        brk: args.brk.map(|b| (BROKEN_RELEASE.to_string(), switch(b))),
        cluster,
        ..Options::default()
    };
    if !json {
        match args.nodes {
            1 => outln!("setting up a sample server in {}", dir.display()),
            n => outln!(
                "setting up a {n}-node sample cluster sharing one database in {}",
                dir.display()
            ),
        }
    }
    let fx = fixture::create(&dir, &server_bin, &options)
        .map_err(|e| Error::failed(format!("demo setup: {e:#}")))?;
    let inst = Instance::open(&fx.instance_file, None)?;
    let current = inst.current_version()?;
    let stop = StopOnDrop {
        inst: &inst,
        keep: args.keep.is_some(),
    };
    for node in &inst.nodes {
        node.start(&current)?;
    }
    queue_work(&inst, &fx.base_url)?;
    let progress = Progress::new(json);
    let prepared = runs::upgrade(&inst, &Request::default(), OnFailure::Rollback, &progress)?;
    if let (false, Action::Upgrade { plan, .. }) = (json, &prepared.action) {
        report::plan(plan);
    }
    let report = prepared.carry_out(&inst, &progress)?;
    let code = report::emit(&report, json);
    match temp {
        None if !json => kept(&dir, &fx.instance_file),
        None => {}
        Some(temp) => {
            stop.now()?;
            temp.close().map_err(|e| {
                Error::failed(format!("cannot remove the demo folder {}", dir.display()))
                    .caused_by(e)
                    .hint("remove it by hand; nothing runs from it any more")
            })?;
            if !json {
                outln!(
                    "\ncleaned up: the sample server is stopped and {} removed",
                    dir.display()
                );
            }
        }
    }
    Ok(code)
}

/// Says where the kept demo is, what to try on it and how to stop it, as
/// commands that run as printed: this very binary (`upshift` may not be on
/// PATH after a build), shell-quoted.
fn kept(dir: &Path, instance_file: &Path) {
    outln!(
        "\nkept in {}; the server is still running. Try:",
        dir.display()
    );
    let program = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("upshift"));
    let program = program.to_string_lossy();
    let file = instance_file.to_string_lossy();
    let head = [&*program, "-c", &*file];
    let line = |command: &[&str]| shlex::try_join(head.iter().chain(command).copied());
    for command in [&["status"][..], &["backups", "list"]] {
        // A path with a NUL cannot be printed as a shell word at all.
        if let Ok(line) = line(command) {
            outln!("  {line}");
        }
    }
    if let Ok(line) = line(&["service", "stop"]) {
        outln!("stop the server when done:\n  {line}");
    }
}

/// The demo folder: `--keep DIR` (must be empty or new) or a temporary one.
fn folder(keep: Option<&Path>) -> Result<(Option<tempfile::TempDir>, PathBuf)> {
    match keep {
        Some(dir) => {
            let empty = std::fs::read_dir(dir)
                .map(|mut d| d.next().is_none())
                .unwrap_or(true);
            if !empty {
                return Err(Error::input(format!(
                    "--keep {}: the folder is not empty",
                    dir.display()
                ))
                .hint("name a new or empty folder"));
            }
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::input(format!("--keep {}: {e}", dir.display())))?;
            Ok((
                None,
                std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            ))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("upshift-demo-")
                .tempdir()
                .map_err(|e| Error::failed(format!("cannot create a temporary folder: {e}")))?;
            let path = temp.path().to_path_buf();
            Ok((Some(temp), path))
        }
    }
}

fn switch(b: DemoBreak) -> Break {
    match b {
        DemoBreak::Migration => Break::Migration,
        DemoBreak::Health => Break::Health,
        DemoBreak::Start => Break::Start,
    }
}

/// Queues two tasks that outlast the key backup (scrypt, a few seconds),
/// so the drain step has real work to wait for.
fn queue_work(inst: &Instance, base_url: &str) -> Result<()> {
    let headers = match &inst.loaded.file.maintenance {
        upshift::config::MaintenanceConfig::Http { headers, .. } => headers.clone(),
        _ => Default::default(),
    };
    for _ in 0..2 {
        let body = serde_json::json!({ "duration_ms": 2500 });
        let answer = inst.client.send(
            "POST",
            &format!("{base_url}/api/tasks"),
            &[&headers],
            Some(&body),
        )?;
        if !answer.ok() {
            return Err(Error::failed(format!(
                "demo: queueing a task answered {}",
                answer.status
            )));
        }
    }
    Ok(())
}

/// Stops the demo server (every node) when the demo ends, unless it is kept.
struct StopOnDrop<'a> {
    inst: &'a Instance,
    keep: bool,
}

impl StopOnDrop<'_> {
    /// Stops every node now, and says so if one cannot be stopped.
    fn now(mut self) -> Result<()> {
        self.keep = true;
        for node in &self.inst.nodes {
            node.stop()?;
        }
        Ok(())
    }
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if !self.keep {
            for node in &self.inst.nodes {
                let _ = node.stop();
            }
        }
    }
}

/// Whether upshift was run under the sample server's name (the demo's
/// releases carry upshift itself as `bin/sample-server`).
pub fn invoked_as_sample_server(args: &[std::ffi::OsString]) -> bool {
    args.first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|name| name == sample_server::package::BINARY_NAME)
}

/// Runs as the sample server; returns its exit code.
pub fn serve_as_sample_server(args: Vec<std::ffi::OsString>) -> i32 {
    use clap::Parser;
    let args = match sample_server::cli::Args::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match sample_server::cli::run(args) {
        Ok(()) => 0,
        Err(error) => {
            errln!("sample-server: {error:#}");
            sample_server::cli::exit_code(&error)
        }
    }
}
