//! Every step that renders a template, forward and undoing: `{version}` and
//! `{dir}` name the version the step brings (the target going forward, the
//! restored version while undoing), `{from}` the version it leaves.
//!
//! Design decisions:
//! - A real instance (the sample preset with command install, service,
//!   migration and check) in a temporary folder: each command appends the
//!   values it was given to one log, and each test reads what its step
//!   appended. No server, no database: these steps only run commands.

use super::{apply, undo};
use crate::engine::instance::Instance;
use crate::engine::plan::model::Plan;
use crate::engine::run::{Ctx, OnFailure};
use crate::engine::state::State;
use crate::engine::step::StepKind;
use crate::support::events::Silent;
use crate::support::version::Version;
use std::path::PathBuf;

/// Appends `what` and its arguments to the log.
fn logs(what: &str, args: &str) -> String {
    format!(r#"["sh", "-c", "echo {what} {args} >> {{instance_dir}}/log"]"#)
}

/// A second local node, `b`, with its own root, service and command check.
const NODES: &str = r#"
[[nodes]]
name = "a"

[[nodes]]
name = "b"
root = "server-b"
service = { kind = "command", start = ["sh", "-c", "echo start-b {version} {dir} >> {instance_dir}/log; touch {instance_dir}/running-b"], stop = ["rm", "-f", "{instance_dir}/running-b"], status = ["test", "-e", "{instance_dir}/running-b"] }
checks = [{ kind = "command", run = ["sh", "-c", "echo check-b {version} >> {instance_dir}/log"] }]
"#;

/// The sample preset with commands that log what they were given, and
/// `nodes` (a cluster's, or none).
fn instance_file(nodes: &str) -> String {
    let text = crate::config::presets::Product::Sample.text();
    let head = &text[..text.find("[release]").unwrap()];
    let keys = &text[text.find("[keys]").unwrap()..text.find("[licence]").unwrap()];
    format!(
        r#"{head}
[release]
source = "feed"
verify = "sha256"

[install]
kind = "command"
root = "server"
run = {stage}
activate = {activate}

[service]
kind = "command"
start = ["sh", "-c", "echo start {{version}} {{dir}} >> {{instance_dir}}/log; touch {{instance_dir}}/running"]
stop = ["rm", "-f", "{{instance_dir}}/running"]
status = ["test", "-e", "{{instance_dir}}/running"]

[database]
kind = "sqlite"
path = "server/data/sample.sqlite"

[migration]
kind = "command"
run = {migrate}

{keys}
{nodes}
[[checks]]
kind = "command"
run = {check}
"#,
        stage = logs("stage", "{version} {dir}"),
        activate = logs("activate", "{version} {from}"),
        migrate = logs("migrate", "{from} {version}"),
        check = logs("check", "{version} {from}"),
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    inst: Instance,
    state: State,
    plan: Plan,
    /// A journaled run, for the rows of each node's part of a step.
    run_id: String,
}

fn v(text: &str) -> Version {
    text.parse().unwrap()
}

impl Fixture {
    /// 1.0.0 and 2.0.0 staged, `current` on 1.0.0, nothing running.
    fn new() -> Fixture {
        Fixture::staged(&["1.0.0", "2.0.0"])
    }

    /// `versions` staged (1.0.0 first), `current` on 1.0.0.
    fn staged(versions: &[&str]) -> Fixture {
        Fixture::with(versions, "")
    }

    /// Nodes `a` and `b`, both versions staged on both, on 1.0.0.
    fn cluster() -> Fixture {
        Fixture::with(&["1.0.0", "2.0.0"], NODES)
    }

    fn with(versions: &[&str], nodes: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let file = root.join("upshift.toml");
        std::fs::write(&file, instance_file(nodes)).unwrap();
        let inst = Instance::open(&file, None).unwrap();
        let state = State::open(&root.join(".upshift")).unwrap();
        for node in inst.all_nodes() {
            for version in versions {
                node.stage(&v(version), None).unwrap();
            }
            node.switch(&v("1.0.0")).unwrap();
        }
        let journaled = serde_json::json!({
            "kind": "upgrade", "instance": "sample", "from": "1.0.0", "to": "2.0.0",
            "change": "major", "restore_backup": null, "rolls_back": null,
            "steps": [], "window_estimate_ms": null,
        });
        let plan: Plan = serde_json::from_value(journaled.clone()).unwrap();
        let run_id = state
            .create_run("upgrade", &plan.from, &plan.to, &journaled)
            .unwrap();
        let fixture = Fixture {
            _dir: dir,
            root,
            inst,
            state,
            plan,
            run_id,
        };
        fixture.log();
        fixture
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx::new(
            &self.inst,
            &self.state,
            &self.run_id,
            &self.plan,
            &Silent,
            OnFailure::Rollback,
        )
    }

    /// The log's lines since the last call (the log is emptied).
    fn log(&self) -> Vec<String> {
        let path = self.root.join("log");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text.lines().map(str::to_string).collect()
    }

    fn dir(&self, version: &str) -> String {
        self.dir_in("server", version)
    }

    fn dir_in(&self, root: &str, version: &str) -> String {
        let versions = self.root.join(root).join("versions");
        versions.join(version).display().to_string()
    }
}

#[test]
fn stage_renders_the_target() {
    let fx = Fixture::staged(&["1.0.0"]);
    apply(StepKind::Stage, &mut fx.ctx()).unwrap();
    assert_eq!(fx.log(), [format!("stage 2.0.0 {}", fx.dir("2.0.0"))]);
}

#[test]
fn switch_activates_the_target_and_its_undo_the_restored_version() {
    let fx = Fixture::new();
    let mut ctx = fx.ctx();
    apply(StepKind::Switch, &mut ctx).unwrap();
    assert_eq!(fx.log(), ["activate 2.0.0 1.0.0"]);
    ctx.turn_back();
    undo(StepKind::Switch, &mut ctx).unwrap();
    assert_eq!(fx.log(), ["activate 1.0.0 2.0.0"]);
}

#[test]
fn migrate_renders_from_and_target() {
    let fx = Fixture::new();
    apply(StepKind::Migrate, &mut fx.ctx()).unwrap();
    assert_eq!(fx.log(), ["migrate 1.0.0 2.0.0"]);
}

#[test]
fn start_and_checks_render_the_target_and_undoing_the_restored_version() {
    let fx = Fixture::new();
    let mut ctx = fx.ctx();
    apply(StepKind::Start, &mut ctx).unwrap();
    apply(StepKind::Checks, &mut ctx).unwrap();
    assert_eq!(
        fx.log(),
        [
            format!("start 2.0.0 {}", fx.dir("2.0.0")),
            "check 2.0.0 1.0.0".into()
        ]
    );
    ctx.turn_back();
    undo(StepKind::Start, &mut ctx).unwrap();
    undo(StepKind::Stop, &mut ctx).unwrap();
    assert_eq!(
        fx.log(),
        [
            format!("start 1.0.0 {}", fx.dir("1.0.0")),
            "check 1.0.0 2.0.0".into()
        ]
    );
}

#[test]
fn preflight_checks_render_the_running_version() {
    let fx = Fixture::new();
    super::checks::verify_before(&mut fx.ctx()).unwrap();
    assert_eq!(fx.log(), ["check 1.0.0 {from}"]);
}

#[test]
fn join_renders_the_target_and_its_undo_the_restored_version() {
    let fx = Fixture::cluster();
    let mut ctx = fx.ctx();
    apply(StepKind::Join, &mut ctx).unwrap();
    assert_eq!(
        fx.log(),
        [
            "activate 2.0.0 1.0.0".to_string(),
            format!("start-b 2.0.0 {}", fx.dir_in("server-b", "2.0.0")),
        ]
    );
    ctx.turn_back();
    undo(StepKind::Join, &mut ctx).unwrap();
    assert_eq!(fx.log(), ["activate 1.0.0 2.0.0"]);
}

#[test]
fn node_checks_render_the_version_each_direction_brings() {
    let fx = Fixture::cluster();
    let mut ctx = fx.ctx();
    super::checks::nodes(&mut ctx, &fx.inst.all_nodes()[1..]).unwrap();
    assert_eq!(fx.log(), ["check-b 2.0.0"]);
    ctx.turn_back();
    super::checks::nodes(&mut ctx, &fx.inst.all_nodes()[1..]).unwrap();
    assert_eq!(fx.log(), ["check-b 1.0.0"]);
}
