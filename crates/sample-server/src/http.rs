//! The HTTP API as a plain function from request to reply, so routing is
//! testable without sockets; [`crate::serve`] does the listening.
//!
//! Octopus-style JSON (PascalCase fields). Writes need `X-Api-Key`; health
//! answers 418 when the server is not operating normally. Keys and secret
//! values are never put in a reply or a log line.

use std::sync::mpsc::Sender;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::Config;
use crate::crypto::MasterKey;
use crate::data::decrypt_secrets;
use crate::db::Db;
use crate::manifest::{Break, Manifest};
use crate::tasks;

/// A response: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    fn new(status: u16, body: Value) -> Self {
        Self { status, body }
    }

    fn error(status: u16, message: impl std::fmt::Display) -> Self {
        Self::new(status, json!({ "ErrorMessage": message.to_string() }))
    }

    fn internal(e: &anyhow::Error) -> Self {
        Self::error(500, format!("{e:#}"))
    }
}

/// A request as the API sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, ...
    pub method: &'a str,
    /// Path, possibly with a query string.
    pub url: &'a str,
    /// The `X-Api-Key` header, if sent.
    pub api_key: Option<&'a str>,
    /// The body as text.
    pub body: &'a str,
}

/// What the handlers need: the API thread's connection and the instance's keys.
pub struct App {
    /// Connection used by the API thread.
    pub db: Db,
    /// Decrypts secrets for the health check.
    pub master_key: MasterKey,
    /// The key that write requests must present.
    pub api_key: String,
    /// This release.
    pub manifest: Manifest,
    /// The instance configuration.
    pub config: Config,
    /// Wakes the task worker.
    pub wake_worker: Sender<()>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("manifest", &self.manifest)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    #[serde(rename = "IsInMaintenanceMode")]
    is_in_maintenance_mode: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskBody {
    duration_ms: u64,
}

impl App {
    /// Routes one request.
    pub fn handle(&mut self, req: &Request<'_>) -> Reply {
        let path = req.url.split('?').next().unwrap_or_default();
        match (req.method, path) {
            ("GET", "/api") => Reply::new(
                200,
                json!({ "Application": "sample-server", "Version": self.manifest.version }),
            ),
            ("GET", "/api/health") => self.health(),
            ("GET", "/api/maintenance") => match self.maintenance() {
                Ok(on) => Reply::new(200, json!({ "IsInMaintenanceMode": on })),
                Err(e) => Reply::internal(&e),
            },
            ("PUT", "/api/maintenance") => self.set_maintenance(req),
            ("POST", "/api/tasks") => self.create_task(req),
            ("GET", "/api/tasks/summary") => match tasks::summary(&mut self.db) {
                Ok(s) => Reply::new(200, json!(s)),
                Err(e) => Reply::internal(&e),
            },
            ("GET", "/api/licence") => match self.config.licence() {
                Ok(l) => Reply::new(200, json!(l)),
                Err(e) => Reply::internal(&e),
            },
            _ => Reply::error(404, format!("no route for {} {path}", req.method)),
        }
    }

    fn health(&mut self) -> Reply {
        if self.config.unhealthy_on.as_deref() == Some(self.manifest.version.as_str()) {
            return Reply::new(
                418,
                json!({ "Status": "unhealthy: `unhealthy_on` names this version" }),
            );
        }
        if self.manifest.brk == Some(Break::Health) {
            return Reply::new(
                418,
                json!({ "Status": "unhealthy: break switch `health` is on" }),
            );
        }
        match decrypt_secrets(&mut self.db, &self.master_key) {
            Ok(secrets) => Reply::new(200, json!({ "Status": "ok", "Secrets": secrets.len() })),
            Err(e) => Reply::new(418, json!({ "Status": format!("unhealthy: {e:#}") })),
        }
    }

    fn authorized(&self, req: &Request<'_>) -> bool {
        let Some(given) = req.api_key else {
            return false;
        };
        let (a, b) = (given.as_bytes(), self.api_key.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn maintenance(&mut self) -> anyhow::Result<bool> {
        let row = self
            .db
            .query_opt("SELECT value FROM settings WHERE key = 'maintenance'", &[])?;
        Ok(match row {
            Some(row) => row.get::<Option<String>>(0)?.as_deref() == Some("true"),
            None => false,
        })
    }

    fn set_maintenance(&mut self, req: &Request<'_>) -> Reply {
        if !self.authorized(req) {
            return Reply::error(401, "missing or wrong X-Api-Key");
        }
        let body: MaintenanceBody = match serde_json::from_str(req.body) {
            Ok(b) => b,
            Err(e) => {
                return Reply::error(
                    400,
                    format!("expected {{\"IsInMaintenanceMode\": bool}}: {e}"),
                )
            }
        };
        let on = body.is_in_maintenance_mode;
        let saved = self.db.execute(
            "INSERT INTO settings(key, value) VALUES ('maintenance', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            &[if on { "true" } else { "false" }.into()],
        );
        match saved {
            Ok(_) => Reply::new(200, json!({ "IsInMaintenanceMode": on })),
            Err(e) => Reply::internal(&e),
        }
    }

    fn create_task(&mut self, req: &Request<'_>) -> Reply {
        if !self.authorized(req) {
            return Reply::error(401, "missing or wrong X-Api-Key");
        }
        let body: TaskBody = match serde_json::from_str(req.body) {
            Ok(b) => b,
            Err(e) => return Reply::error(400, format!("expected {{\"duration_ms\": N}}: {e}")),
        };
        match self.maintenance() {
            Ok(true) => return Reply::error(503, "the server is in maintenance mode"),
            Ok(false) => {}
            Err(e) => return Reply::internal(&e),
        }
        match tasks::enqueue(&mut self.db, body.duration_ms) {
            Ok(id) => {
                // The worker also polls, so a lost wake-up only delays it.
                let _ = self.wake_worker.send(());
                Reply::new(201, json!({ "Id": id }))
            }
            Err(e) => Reply::internal(&e),
        }
    }
}
