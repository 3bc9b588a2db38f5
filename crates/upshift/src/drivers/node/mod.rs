//! Nodes: the machines that run the server, sharing one database.
//!
//! An instance without `[[nodes]]` is one local node made of `[install]` and
//! `[service]`; with them, each node is local ([`local`]) or reached over the
//! system `ssh` ([`remote`], through [`ssh`]), where upshift runs a copy of
//! itself as an agent ([`agent`]) that drives the node's own install and
//! service with the same code as a local node. Steps reach every node
//! through the [`Node`] trait and run them in parallel with [`each`].

mod local;
pub mod protocol;
pub mod remote;
mod session;
pub mod ssh;

pub use local::LocalNode;
pub use remote::RemoteNode;

use crate::config::CheckConfig;
use crate::drivers::checks::CheckOutcome;
use crate::drivers::db::Database;
use crate::support::error::Result;
use crate::support::version::Version;
use std::path::Path;
use std::time::{Duration, Instant};

/// One node: its install, its service, its own checks.
pub trait Node: std::fmt::Debug + Send + Sync {
    /// Its name in the instance file.
    fn name(&self) -> &str;
    /// For messages: the name and where it runs.
    fn describe(&self) -> String;
    /// The version its `current` link points at.
    fn current(&self) -> Result<Option<Version>>;
    /// Whether `v` is installed there, ready to switch to.
    fn is_staged(&self, v: &Version) -> Result<bool>;
    /// Installs `v` beside the others; `artifact` is the verified release
    /// archive on this machine, with its SHA-256, which a remote node checks
    /// again once it has received it.
    fn stage(&self, v: &Version, artifact: Option<(&Path, &str)>) -> Result<()>;
    /// Points `current` at `v` (activating it first where the install says
    /// how); nothing to do if it already does.
    fn switch(&self, v: &Version) -> Result<()>;
    /// Whether the service runs.
    fn is_running(&self) -> Result<bool>;
    /// Starts the service on `version` (templated for it) and waits for
    /// ready; a running service is only waited for (and its `after_start`
    /// hooks run).
    fn start(&self, version: &Version) -> Result<()>;
    /// Stops the service and proves it is gone.
    fn stop(&self) -> Result<()>;
    /// Runs this node's command checks there, expecting `version`.
    fn command_checks(&self, version: &Version, db: &dyn Database) -> Result<Vec<CheckOutcome>>;
    /// This node's own checks.
    fn checks(&self) -> &[CheckConfig];
    /// Runs a command of the instance file there (`argv` is a template),
    /// for an upgrade `from` -> `to`; fails unless it exits 0.
    fn run(
        &self,
        argv: &[String],
        from: &Version,
        to: &Version,
        timeout: Duration,
        what: &str,
    ) -> Result<()>;
    /// A command of the instance file (`argv`, a template) as it runs
    /// there for an upgrade `from` -> `to`: for messages that name it.
    fn render(&self, argv: &[String], from: &Version, to: &Version) -> Vec<String>;
    /// Bytes free where its versions are unpacked.
    fn free_space(&self) -> Result<u64>;
    /// The service driver, for messages: its command rendered for
    /// `version` (or, without one, with the placeholders every version
    /// shares).
    fn describe_service(&self, version: Option<&Version>) -> String;
}

/// What one node's part of a step gave, and how long it took.
#[derive(Debug)]
pub struct NodeResult<T> {
    pub node: String,
    pub ms: u64,
    pub result: Result<T>,
}

/// Runs `op` on every node in `nodes` at once and waits for all of them.
pub fn each<'a, T: Send>(
    nodes: &[&'a dyn Node],
    op: impl Fn(&'a dyn Node) -> Result<T> + Sync,
) -> Vec<NodeResult<T>> {
    each_then(nodes, op, |_, _| {})
}

/// [`each`], calling `done(index, result)` on this thread as each node
/// finishes (to journal it at once), in the order they finish.
pub fn each_then<'a, T: Send>(
    nodes: &[&'a dyn Node],
    op: impl Fn(&'a dyn Node) -> Result<T> + Sync,
    mut done: impl FnMut(usize, &NodeResult<T>),
) -> Vec<NodeResult<T>> {
    let timed = |node: &'a dyn Node| {
        let began = Instant::now();
        let result = op(node);
        NodeResult {
            node: node.name().to_string(),
            ms: began.elapsed().as_millis() as u64,
            result,
        }
    };
    if let [one] = nodes {
        let result = timed(*one);
        done(0, &result);
        return vec![result];
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        for (i, node) in nodes.iter().enumerate() {
            let (tx, timed) = (tx.clone(), &timed);
            scope.spawn(move || {
                let _ = tx.send((i, timed(*node)));
            });
        }
        drop(tx);
        let mut results: Vec<Option<NodeResult<T>>> = nodes.iter().map(|_| None).collect();
        for (i, result) in rx {
            done(i, &result);
            results[i] = Some(result);
        }
        results
            .into_iter()
            .map(|r| r.expect("a node operation panicked"))
            .collect()
    })
}
