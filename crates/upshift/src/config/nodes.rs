//! `[[nodes]]` and `[ssh]`: the machines of a cluster that share one database.
//!
//! Without `[[nodes]]` the instance is one local node made of `[install]`
//! and `[service]`. With them, every node names where it runs (`local`, or
//! `ssh://user@host[:port]` through the system `ssh`), its install root, and
//! optionally its own service and checks; the first node is the one that
//! upgrades the database.

use super::{CheckConfig, FilePath, ServiceConfig};
use crate::support::error::{Error, Result};
use serde::Deserialize;
use std::time::Duration;

/// One node of a cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Shown in reports and the journal (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// `local`, or `ssh://user@host[:port]`.
    #[serde(default = "default_host")]
    pub host: String,
    /// The install root on that node; default `[install] root`.
    pub root: Option<FilePath>,
    /// How the service runs on that node; default `[service]`.
    pub service: Option<ServiceConfig>,
    /// Checks of this node alone: HTTP from upshift's machine, commands on the node.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
}

fn default_host() -> String {
    "local".into()
}

/// Where a node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Local,
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
    },
}

impl Host {
    /// Parses `local` or `ssh://[user@]host[:port]`.
    pub fn parse(text: &str) -> Result<Host> {
        if text == "local" {
            return Ok(Host::Local);
        }
        let bad = || {
            Error::input(format!(
                "`{text}` is not `local` or `ssh://user@host[:port]`"
            ))
            .hint("for example host = \"ssh://deploy@10.0.0.12:22\"")
        };
        let rest = text.strip_prefix("ssh://").ok_or_else(bad)?;
        let (user, rest) = match rest.split_once('@') {
            Some((user, rest)) => (Some(user.to_string()), rest),
            None => (None, rest),
        };
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, port)) => (host, Some(port.strip_prefix(':').ok_or_else(bad)?)),
                None => return Err(bad()),
            },
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad()))
            .transpose()?;
        let valid = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        };
        if !valid(host) || user.as_deref().is_some_and(|u| !valid(u)) {
            return Err(bad());
        }
        Ok(Host::Ssh {
            user,
            host: host.to_string(),
            port,
        })
    }
}

/// `[ssh]`: how remote nodes are reached. The operator's `~/.ssh/config`,
/// agent and `known_hosts` apply; these only add to them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    /// An ssh config file to use instead of `~/.ssh/config` (`ssh -F`).
    pub config: Option<FilePath>,
    /// How long to wait for a node to answer (`ConnectTimeout`).
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long one remote operation may take, unless it has its own timeout.
    #[serde(default = "default_op_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// The upshift binary copied to remote nodes as their agent; default the
    /// running one (nodes must then be Linux on the same architecture).
    pub agent: Option<FilePath>,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            config: None,
            connect_timeout: default_connect_timeout(),
            timeout: default_op_timeout(),
            agent: None,
        }
    }
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_op_timeout() -> Duration {
    Duration::from_secs(600)
}

/// Checks the node list: names unique and plain, hosts well-formed, the
/// install root of a remote node absolute as written.
pub fn validate(nodes: &[NodeConfig], at: &dyn Fn(&str) -> String) -> Result<()> {
    for (i, node) in nodes.iter().enumerate() {
        let field = |f: &str| at(&format!("nodes[{i}].{f}"));
        let plain = !node.name.is_empty()
            && node
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !plain {
            return Err(Error::input(format!(
                "{}: `{}` is not a plain name (letters, digits, `-`, `_`, `.`)",
                field("name"),
                node.name
            )));
        }
        if nodes[..i].iter().any(|n| n.name == node.name) {
            return Err(Error::input(format!(
                "{}: node `{}` is listed twice",
                field("name"),
                node.name
            )));
        }
        Host::parse(&node.host).map_err(|e| {
            let hint = e.hint_text().unwrap_or_default().to_string();
            Error::input(format!("{}: {e}", field("host"))).hint(hint)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        assert_eq!(Host::parse("local").unwrap(), Host::Local);
        assert_eq!(
            Host::parse("ssh://deploy@10.0.0.2:2222").unwrap(),
            Host::Ssh {
                user: Some("deploy".into()),
                host: "10.0.0.2".into(),
                port: Some(2222)
            }
        );
        assert_eq!(
            Host::parse("ssh://node-3.example").unwrap(),
            Host::Ssh {
                user: None,
                host: "node-3.example".into(),
                port: None
            }
        );
        for bad in [
            "node-3",
            "ssh://",
            "ssh://a@-oProxyCommand=x",
            "ssh://h:port",
            "ssh://a b@h",
            "ssh://u@h;rm",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
