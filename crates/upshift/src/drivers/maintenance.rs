//! Maintenance mode: closing the server to users during the window.
//!
//! An HTTP request each way (the section's headers, typically an API key,
//! are sent with all three requests), a command each way, or nothing for a
//! server without such a mode. Turning it on or off is not trusted on the
//! word of a 2xx: when a status probe is configured, upshift reads the mode
//! back and fails unless the server agrees, because a window opened on a
//! server that still takes writes would lose data on rollback.
//!
//! Commands know `{instance_dir}` only: maintenance is also switched
//! outside any run (`upshift maintenance on`).

use crate::config::MaintenanceConfig;
use crate::drivers::http;
use crate::support::cmd;
use crate::support::error::{Error, Result};
use crate::support::template::Vars;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a maintenance command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The instance's maintenance switch.
#[derive(Debug)]
pub struct Maintenance {
    cfg: MaintenanceConfig,
    client: http::Client,
    instance_dir: PathBuf,
}

impl Maintenance {
    /// The switch the instance file describes; commands run in `instance_dir`.
    pub fn new(cfg: &MaintenanceConfig, client: &http::Client, instance_dir: &Path) -> Self {
        Maintenance {
            cfg: cfg.clone(),
            client: client.clone(),
            instance_dir: instance_dir.to_path_buf(),
        }
    }

    /// Turns maintenance mode on or off, and proves it when it can.
    pub fn set(&self, on: bool) -> Result<()> {
        let what = format!("maintenance {}", on_off(on));
        match &self.cfg {
            MaintenanceConfig::Http {
                on: on_req,
                off: off_req,
                headers,
                ..
            } => {
                let req = if on { on_req } else { off_req };
                let method = req.method.to_ascii_uppercase();
                let answer = self
                    .client
                    .send(
                        &method,
                        &req.url,
                        &[headers, &req.headers],
                        req.body.as_ref(),
                    )
                    .map_err(|e| prefixed(&what, e))?;
                if !answer.ok() {
                    return Err(Error::failed(format!(
                        "{what}: {method} {} answered {}",
                        req.url, answer.status
                    ))
                    .hint("check the URL and the API key header in [maintenance]"));
                }
            }
            MaintenanceConfig::Command {
                on: on_cmd,
                off: off_cmd,
                ..
            } => {
                let argv = self.vars().render_all(if on { on_cmd } else { off_cmd });
                cmd::run_ok(&argv, &self.instance_dir, COMMAND_TIMEOUT, &what)?;
            }
            MaintenanceConfig::None => return Ok(()),
        }
        match self.status()? {
            Some(now) if now != on => Err(Error::failed(format!(
                "{what}: the server still reports maintenance {}",
                on_off(now)
            ))
            .hint("the request was accepted but did not take effect; check the server's log")),
            _ => Ok(()),
        }
    }

    /// Whether maintenance mode is on; `None` when it cannot be known
    /// (no maintenance mode, or no status configured).
    pub fn status(&self) -> Result<Option<bool>> {
        match &self.cfg {
            MaintenanceConfig::Http {
                status: Some(probe),
                headers,
                ..
            } => {
                let what = format!("maintenance status: GET {}", probe.url);
                let answer = self.client.get(&probe.url, &[headers, &probe.headers])?;
                if !answer.ok() {
                    return Err(Error::failed(format!("{what} answered {}", answer.status)));
                }
                let json = answer.json(&what)?;
                let pointer = probe.pointer.as_deref().unwrap_or("");
                match http::at_pointer(&json, pointer, &what)? {
                    serde_json::Value::Bool(on) => Ok(Some(*on)),
                    other => Err(Error::failed(format!(
                        "{what}: expected true or false at `{pointer}`, found {other}"
                    ))
                    .hint("maintenance.status.pointer must point at a boolean")),
                }
            }
            MaintenanceConfig::Command {
                status: Some(argv), ..
            } => {
                let argv = self.vars().render_all(argv);
                let out = cmd::run(&argv, &self.instance_dir, COMMAND_TIMEOUT)?;
                Ok(Some(out.status.success()))
            }
            _ => Ok(None),
        }
    }

    /// For messages and plans.
    pub fn describe(&self) -> String {
        match &self.cfg {
            MaintenanceConfig::Http { on, off, .. } => format!(
                "http ({} {} / {} {})",
                on.method.to_ascii_uppercase(),
                on.url,
                off.method.to_ascii_uppercase(),
                off.url
            ),
            MaintenanceConfig::Command { on, off, .. } => {
                format!("commands (`{}` / `{}`)", on.join(" "), off.join(" "))
            }
            MaintenanceConfig::None => "none".into(),
        }
    }

    /// The request or command that turns maintenance `on` (or off).
    pub fn action(&self, on: bool) -> String {
        match &self.cfg {
            MaintenanceConfig::Http {
                on: on_req, off, ..
            } => {
                let req = if on { on_req } else { off };
                format!("{} {}", req.method.to_ascii_uppercase(), req.url)
            }
            MaintenanceConfig::Command {
                on: on_cmd, off, ..
            } => {
                format!("`{}`", if on { on_cmd } else { off }.join(" "))
            }
            MaintenanceConfig::None => "none".into(),
        }
    }

    fn vars(&self) -> Vars {
        let mut vars = Vars::default();
        vars.set("instance_dir", self.instance_dir.to_string_lossy());
        vars
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Puts `what` before an error's message, keeping its cause.
fn prefixed(what: &str, e: Error) -> Error {
    Error::failed(what.to_string()).caused_by(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HeaderValue, Headers, HttpProbe, HttpRequest};
    use crate::drivers::service::test_http::{Reply, TestServer};
    use serde_json::json;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    const KEY: &str = "API-abc123";

    fn headers(name: &str, value: &str) -> Headers {
        [(name.to_string(), HeaderValue::Plain(value.to_string()))].into()
    }

    /// Maintenance the way the sample server does it; requests without the
    /// API key are refused. `broken` makes every PUT answer 500, `deaf`
    /// accepts PUTs without acting on them.
    fn server(broken: bool, deaf: bool) -> (TestServer, Arc<AtomicBool>) {
        let state = Arc::new(AtomicBool::new(false));
        let mode = state.clone();
        let server = TestServer::start(move |req, _| {
            if req.header("x-api-key") != Some(KEY) {
                return Reply::Json(401, json!({"error": "no key"}));
            }
            match req.method.as_str() {
                "GET" => Reply::Json(
                    200,
                    json!({"IsInMaintenanceMode": mode.load(Ordering::SeqCst)}),
                ),
                _ if broken => Reply::Json(500, json!({"error": "boom"})),
                _ => {
                    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                    if !deaf {
                        mode.store(
                            body["IsInMaintenanceMode"].as_bool().unwrap(),
                            Ordering::SeqCst,
                        );
                    }
                    Reply::Json(200, json!({}))
                }
            }
        });
        (server, state)
    }

    fn http_config(url: &str, with_status: bool) -> MaintenanceConfig {
        let request = |on: bool| HttpRequest {
            method: "put".into(),
            url: format!("{url}/api/maintenance"),
            body: Some(json!({ "IsInMaintenanceMode": on })),
            headers: headers("x-request", if on { "on" } else { "off" }),
        };
        MaintenanceConfig::Http {
            on: Box::new(request(true)),
            off: Box::new(request(false)),
            status: with_status.then(|| HttpProbe {
                url: format!("{url}/api/maintenance"),
                pointer: Some("/IsInMaintenanceMode".into()),
                headers: Headers::new(),
            }),
            headers: headers("x-api-key", KEY),
        }
    }

    fn maintenance(cfg: &MaintenanceConfig, dir: &Path) -> Maintenance {
        Maintenance::new(cfg, &http::Client::new(Duration::from_secs(2)), dir)
    }

    #[test]
    fn http_on_off_and_status_with_headers() {
        let (server, state) = server(false, false);
        let m = maintenance(&http_config(&server.url, true), Path::new("/"));
        assert_eq!(m.status().unwrap(), Some(false));
        m.set(true).unwrap();
        assert!(state.load(Ordering::SeqCst));
        assert_eq!(m.status().unwrap(), Some(true));
        m.set(false).unwrap();
        assert!(!state.load(Ordering::SeqCst));
        let puts: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .collect();
        assert_eq!(puts.len(), 2);
        assert_eq!(puts[0].header("x-request"), Some("on"));
        assert_eq!(puts[1].header("x-request"), Some("off"));
        assert!(m.describe().starts_with("http (PUT "));
    }

    #[test]
    fn a_500_is_an_error_without_the_key() {
        let (server, _) = server(true, false);
        let err = maintenance(&http_config(&server.url, true), Path::new("/"))
            .set(true)
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(
            text,
            format!(
                "maintenance on: PUT {}/api/maintenance answered 500",
                server.url
            )
        );
        assert!(!err.chain().contains(KEY));
    }

    #[test]
    fn a_request_that_does_not_take_effect_fails() {
        let (server, _) = server(false, true);
        let err = maintenance(&http_config(&server.url, true), Path::new("/"))
            .set(true)
            .unwrap_err();
        assert!(
            err.to_string().contains("still reports maintenance off"),
            "{err}"
        );
    }

    #[test]
    fn without_a_status_probe_the_state_is_unknown() {
        let (server, state) = server(false, false);
        let m = maintenance(&http_config(&server.url, false), Path::new("/"));
        m.set(true).unwrap();
        assert!(state.load(Ordering::SeqCst));
        assert_eq!(m.status().unwrap(), None);
        let none = maintenance(&MaintenanceConfig::None, Path::new("/"));
        none.set(true).unwrap();
        assert_eq!(none.status().unwrap(), None);
    }

    #[test]
    fn commands_switch_and_report() {
        let dir = tempfile::tempdir().unwrap();
        let sh = |s: &str| vec!["sh".to_string(), "-c".to_string(), s.to_string()];
        let cfg = MaintenanceConfig::Command {
            on: sh("touch {instance_dir}/maintenance"),
            off: sh("rm {instance_dir}/maintenance"),
            status: Some(sh("test -e maintenance")),
        };
        let m = maintenance(&cfg, dir.path());
        assert_eq!(m.status().unwrap(), Some(false));
        m.set(true).unwrap();
        assert!(dir.path().join("maintenance").exists());
        assert_eq!(m.status().unwrap(), Some(true));
        m.set(false).unwrap();
        assert_eq!(m.status().unwrap(), Some(false));
        let err = m.set(false).unwrap_err();
        assert!(
            err.to_string().starts_with("maintenance off: `sh` exited"),
            "{err}"
        );
    }
}
