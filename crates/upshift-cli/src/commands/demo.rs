//! `upshift demo`: a throwaway sample server, upgraded for real.
//!
//! It lays out a sample installation (signed feed, installed release,
//! seeded database, keys, instance file), starts it, queues some work so
//! the drain has something to wait for, and upgrades it to the newest
//! release of its major with the same engine as `upshift upgrade`. With
//! `--nodes N` it is a cluster of N local nodes sharing one database. With
//! `--keep DIR` everything stays (and the server keeps running) so other
//! commands can be tried on it; otherwise the server is stopped and the
//! folder removed.

use crate::cli::{DemoArgs, DemoBreak};
use crate::output::outln;
use crate::output::{progress::Progress, report};
use sample_server::cluster::NodeSpec;
use sample_server::fixture::{self, Options};
use sample_server::manifest::Break;
use std::path::{Path, PathBuf};
use upshift::engine::instance::Instance;
use upshift::engine::plan::{self, Request};
use upshift::engine::run;
use upshift::engine::run::OnFailure;
use upshift::{Error, Result};

/// The release a `--break` switch is put into: the minor upgrade's target.
const BROKEN_RELEASE: &str = "2026.2.0";

pub fn run(args: &DemoArgs) -> Result<i32> {
    let server_bin = sample_server::package::locate_server_binary().map_err(|e| {
        Error::input(format!("{e:#}")).hint("run `cargo build --release --workspace` first")
    })?;
    let (_temp, dir) = folder(args.keep.as_deref())?;
    let cluster = match args.nodes {
        1 => Vec::new(),
        n => vec![NodeSpec::local(); usize::from(n)],
    };
    let options = Options {
        brk: args.brk.map(|b| (BROKEN_RELEASE.to_string(), switch(b))),
        cluster,
        ..Options::default()
    };
    if !args.json {
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
    let _stop = StopOnDrop {
        inst: &inst,
        keep: args.keep.is_some(),
    };
    for node in &inst.nodes {
        node.start(&current)?;
    }
    queue_work(&inst, &fx.base_url)?;
    let progress = Progress::new(args.json);
    let _lock = inst.lock("demo")?;
    let state = inst.state()?;
    let plan = plan::make(&inst, &state, &Request::default(), &progress)?;
    if !args.json {
        report::plan(&plan);
    }
    let report = run::execute(&inst, &state, &plan, OnFailure::Rollback, &progress)?;
    let code = report::emit(&report, args.json);
    if !args.json {
        if let Some(keep) = &args.keep {
            outln!(
                "\nkept in {}; the server is still running. Try:",
                keep.display()
            );
            outln!("  upshift -c {} status", fx.instance_file.display());
            outln!("  upshift -c {} backups list", fx.instance_file.display());
        }
    }
    Ok(code)
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

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if !self.keep {
            for node in &self.inst.nodes {
                let _ = node.stop();
            }
        }
    }
}
