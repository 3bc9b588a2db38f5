//! A cluster of sample-server nodes sharing one database, for upshift's
//! high-availability tests and `upshift demo --nodes N`.
//!
//! Each node has its own install root (`node-<i>/versions/<v>`, `current`),
//! its own server config (its own listen address, the shared database and
//! keys), pidfile and log; the instance file lists them as `[[nodes]]`, each
//! with its own service and HTTP checks. A node is local, or reached over
//! ssh (`host = "ssh://..."`), as the test that made its host says.

use crate::config::Config;
use crate::package::unpack_release;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// One node to lay out.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// `local` or `ssh://user@host[:port]`.
    pub host: String,
    /// The address the node's server listens on.
    pub ip: String,
    /// Test switch: its health check answers 418 on this release.
    pub unhealthy_on: Option<String>,
}

impl NodeSpec {
    /// A node on this machine, on loopback.
    pub fn local() -> NodeSpec {
        NodeSpec {
            host: "local".into(),
            ip: "127.0.0.1".into(),
            unhealthy_on: None,
        }
    }
}

/// A node as laid out.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub spec: NodeSpec,
    /// Its install root.
    pub root: PathBuf,
    /// `http://<ip>:<port>`.
    pub base_url: String,
    pub pidfile: PathBuf,
    pub listen: String,
}

/// Names, folders and addresses of `specs` inside `dir`.
pub fn plan(dir: &Path, specs: &[NodeSpec]) -> Result<Vec<Node>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let name = format!("node-{}", i + 1);
            let root = dir.join(&name);
            let port = crate::net::free_port()?;
            Ok(Node {
                listen: format!("{}:{port}", spec.ip),
                base_url: format!("http://{}:{port}", spec.ip),
                pidfile: root.join("run/server.pid"),
                root,
                name,
                spec: spec.clone(),
            })
        })
        .collect()
}

/// Installs `version` from `archive` on every node and writes each node's
/// server config from `shared` (the first server's config, absolute paths).
pub fn lay_out(nodes: &[Node], archive: &Path, version: &str, shared: &Config) -> Result<()> {
    for node in nodes {
        unpack_release(archive, &node.root.join("versions").join(version))?;
        std::os::unix::fs::symlink(
            Path::new("versions").join(version),
            node.root.join("current"),
        )
        .with_context(|| format!("linking {}/current", node.root.display()))?;
        for sub in ["run", "logs"] {
            std::fs::create_dir_all(node.root.join(sub))?;
        }
        let config = Config {
            listen: node.listen.clone(),
            unhealthy_on: node.spec.unhealthy_on.clone(),
            ..shared.clone()
        };
        let path = node.root.join("server.toml");
        std::fs::write(&path, toml::to_string(&config)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The `[[nodes]]` sections, and `[ssh]` with `ssh` (config file, agent).
pub fn nodes_toml(nodes: &[Node], ssh: Option<&(PathBuf, PathBuf)>) -> String {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut out = String::new();
    if let Some((config, agent)) = ssh {
        out.push_str(&format!(
            "\n[ssh]\nconfig = {}\nagent = {}\nconnect_timeout = \"3s\"\n",
            quote(&config.display().to_string()),
            quote(&agent.display().to_string())
        ));
    }
    for node in nodes {
        let root = node.root.display().to_string();
        out.push_str(&format!(
            r#"
[[nodes]]
name = "{name}"
host = {host}
root = {root_q}

[nodes.service]
kind = "process"
start = ["{{current}}/bin/sample-server", "serve", "--config", {config}]
pidfile = {pidfile}
log = {log}
stop_timeout = "10s"
start_timeout = "20s"
ready = {{ url = "{base}/api" }}

[[nodes.checks]]
kind = "http"
name = "health"
url = "{base}/api/health"
within = "10s"

[[nodes.checks]]
kind = "version"
name = "version"
url = "{base}/api"
pointer = "/Version"
within = "10s"
"#,
            name = node.name,
            host = quote(&node.spec.host),
            root_q = quote(&root),
            config = quote(&format!("{root}/server.toml")),
            pidfile = quote(&node.pidfile.display().to_string()),
            log = quote(&format!("{root}/logs/server.log")),
            base = node.base_url,
        ));
    }
    out
}
