//! One server installation, with its drivers assembled from the instance file.
//!
//! Opening an [`Instance`] reads and checks the instance file and builds a
//! driver for each section; it touches nothing on the server. Every command
//! starts here.

use crate::config::{self, Host, Loaded, NodeConfig};
use crate::drivers::db::{self, Database};
use crate::drivers::http::Client;
use crate::drivers::install::Install;
use crate::drivers::maintenance::Maintenance;
use crate::drivers::node::{LocalNode, Node, RemoteNode};
use crate::drivers::release::Source;
use crate::drivers::service::{self, Service};
use crate::engine::state::State;
use crate::support::error::Result;
use crate::support::lock::Lock;
use crate::support::template::Vars;
use crate::support::version::Version;
use std::path::{Path, PathBuf};

/// An instance file and the drivers it describes.
#[derive(Debug)]
pub struct Instance {
    pub loaded: Loaded,
    pub state_dir: PathBuf,
    pub client: Client,
    pub install: Install,
    pub service: Box<dyn Service>,
    pub maintenance: Maintenance,
    pub db: Box<dyn Database>,
    pub source: Source,
    /// Where the server runs: the `[[nodes]]`, or one local node made of
    /// `[install]` and `[service]`. The first one upgrades the database.
    pub nodes: Vec<Box<dyn Node>>,
}

impl Instance {
    /// Loads `file`; `state_dir` overrides the instance file's choice.
    pub fn open(file: &Path, state_dir: Option<&Path>) -> Result<Instance> {
        Instance::from_loaded(config::load(file)?, state_dir)
    }

    /// The instance a loaded file describes.
    pub fn from_loaded(loaded: Loaded, state_dir: Option<&Path>) -> Result<Instance> {
        let cfg = &loaded.file;
        let state_dir = match (state_dir, &cfg.instance.state_dir) {
            (Some(dir), _) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            (None, Some(dir)) => dir.path().to_path_buf(),
            (None, None) => loaded.dir.join(".upshift"),
        };
        let client = Client::new(cfg.instance.http_timeout);
        let cache_dir = match &cfg.release.cache_dir {
            Some(dir) => dir.path().to_path_buf(),
            None => state_dir.join("cache"),
        };
        let mut release = cfg.release.clone();
        if !release.source.contains("://") {
            release.source = loaded.dir.join(&release.source).display().to_string();
        }
        let source = Source::new(&release, cache_dir)?;
        let mut inst = Instance {
            install: Install::new(&cfg.install, &loaded.dir),
            service: service::from_config(&cfg.service, &loaded.dir, &client),
            maintenance: Maintenance::new(&cfg.maintenance, &client, &loaded.dir),
            db: db::open(&cfg.database, &loaded.dir),
            source,
            client,
            state_dir,
            loaded,
            nodes: Vec::new(),
        };
        inst.nodes = inst.build_nodes()?;
        Ok(inst)
    }

    fn build_nodes(&self) -> Result<Vec<Box<dyn Node>>> {
        let cfg = &self.loaded.file;
        if cfg.nodes.is_empty() {
            return Ok(vec![Box::new(self.make_local(None))]);
        }
        let control_dir = std::sync::Arc::new(crate::drivers::node::ssh::ControlDir::default());
        cfg.nodes
            .iter()
            .map(|node| -> Result<Box<dyn Node>> {
                Ok(match Host::parse(&node.host)? {
                    Host::Local => Box::new(self.make_local(Some(node))),
                    Host::Ssh { user, host, port } => {
                        Box::new(RemoteNode::new(crate::drivers::node::remote::RemoteSpec {
                            name: &node.name,
                            user: user.as_deref(),
                            host: &host,
                            port,
                            root: self.node_root(node),
                            checks: &node.checks,
                            seen: self.make_local(Some(node)),
                            ssh: &cfg.ssh,
                            file: &self.loaded.text,
                            path: &self.loaded.path,
                            state_dir: &self.state_dir,
                            control_dir: std::sync::Arc::clone(&control_dir),
                        }))
                    }
                })
            })
            .collect()
    }

    fn node_root<'a>(&'a self, node: &'a NodeConfig) -> &'a Path {
        node.root
            .as_ref()
            .map_or(self.loaded.file.install.root(), |r| r.path())
    }

    /// The node called `name` as a local node, wherever the instance file
    /// says it runs (what the node agent acts as).
    pub fn local_node(&self, name: &str) -> Result<LocalNode> {
        let cfg = &self.loaded.file;
        if cfg.nodes.is_empty() && name == LOCAL {
            return Ok(self.make_local(None));
        }
        let node = cfg.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
            crate::Error::input(format!(
                "instance file {}: there is no node `{name}`",
                self.loaded.path.display()
            ))
        })?;
        Ok(self.make_local(Some(node)))
    }

    fn make_local(&self, node: Option<&NodeConfig>) -> LocalNode {
        let cfg = &self.loaded.file;
        let mut install_cfg = cfg.install.clone();
        if let Some(node) = node {
            install_cfg.set_root(self.node_root(node));
        }
        let service_cfg = node
            .and_then(|n| n.service.as_ref())
            .unwrap_or(&cfg.service);
        LocalNode {
            name: node.map_or(LOCAL, |n| &n.name).to_string(),
            install: Install::new(&install_cfg, &self.loaded.dir),
            service: service::from_config(service_cfg, &self.loaded.dir, &self.client),
            checks: node.map(|n| n.checks.clone()).unwrap_or_default(),
            base: self.base_vars(),
            instance_dir: self.loaded.dir.clone(),
            client: self.client.clone(),
        }
    }

    /// Whether the instance is a cluster (`[[nodes]]`), not a single server.
    pub fn is_cluster(&self) -> bool {
        !self.loaded.file.nodes.is_empty()
    }

    /// The node that upgrades the database: the first one.
    pub fn primary(&self) -> &dyn Node {
        self.nodes[0].as_ref()
    }

    /// Every node, in the instance file's order.
    pub fn all_nodes(&self) -> Vec<&dyn Node> {
        self.nodes.iter().map(|n| n.as_ref()).collect()
    }

    /// The instance's name from the file.
    pub fn name(&self) -> &str {
        &self.loaded.file.instance.name
    }

    /// Opens the state database (journal, catalog, history).
    pub fn state(&self) -> Result<State> {
        State::open(&self.state_dir)
    }

    /// Takes the instance lock for `what` (a command name), and the
    /// database's lock, which keeps out operators with another state folder
    /// or on another machine.
    pub fn lock(&self, what: &str) -> Result<Lock> {
        let mut lock = Lock::acquire(&self.state_dir, what)?;
        if let Some(shared) = self.db.lock(what)? {
            lock.hold(shared);
        }
        Ok(lock)
    }

    /// Where backups are written.
    pub fn backups_dir(&self) -> PathBuf {
        match &self.loaded.file.backups.dir {
            Some(dir) => dir.path().to_path_buf(),
            None => self.state_dir.join("backups"),
        }
    }

    /// The version `current` points at (on the first node), or an input
    /// error if there is none.
    pub fn current_version(&self) -> Result<Version> {
        self.primary().current()?.ok_or_else(|| {
            crate::Error::input(format!(
                "no current version on {}: `current` is not a link to an installed version",
                self.primary().describe()
            ))
            .hint("upshift upgrades an existing installation laid out as <root>/versions/<v> with <root>/current pointing at one")
        })
    }

    /// Template values for commands outside a run: the installed version.
    pub fn current_vars(&self) -> Result<Vars> {
        let current = self.current_version()?;
        Ok(self.vars(None, &current))
    }

    /// Template values for commands, for an upgrade `from` -> `to`.
    pub fn vars(&self, from: Option<&Version>, to: &Version) -> Vars {
        self.install.version_vars(&self.base_vars(), from, to)
    }

    /// The template values that hold for every version and node.
    fn base_vars(&self) -> Vars {
        let mut vars = Vars::default();
        vars.set("instance_dir", self.loaded.dir.display().to_string())
            .set("state_dir", self.state_dir.display().to_string());
        vars.set("db", self.db.name());
        vars
    }
}

/// The name of the one node of an instance without `[[nodes]]`.
pub const LOCAL: &str = "local";
