//! `serve`: check the schema (or migrate on start), start the task worker,
//! listen, and answer requests one at a time on this thread.
//!
//! The order matters for the break switches and for upshift's checks: the
//! `start` switch hangs after the database is opened and before anything
//! listens (default signal handling still kills it); a schema mismatch exits
//! before listening with a distinct code ([`crate::SchemaError`]); the
//! "listening on ADDR version V" line is printed only once the socket accepts
//! connections, with the real port when `listen` asks for port 0.

use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

use crate::config::Config;
use crate::data::schema_version;
use crate::db::Db;
use crate::error::SchemaError;
use crate::http::{App, Request};
use crate::manifest::{Break, Manifest};
use crate::{migrations, tasks};

/// Largest request body read.
const MAX_BODY: u64 = 1024 * 1024;

/// Runs the server until the process is killed.
pub fn serve(config: &Config, manifest: &Manifest) -> Result<()> {
    let source = config.source()?;
    let mut db = Db::open(&source)?;
    if manifest.brk == Some(Break::Start) {
        eprintln!("break switch `start`: hanging before listening");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    ensure_schema(&mut db, config, manifest)?;
    let master_key = config.master_key()?;
    let api_key = config.api_key()?;
    tasks::requeue_interrupted(&mut db)?;
    let wake_worker = tasks::start_worker(&source)?;
    let mut app = App {
        db,
        master_key,
        api_key,
        manifest: manifest.clone(),
        config: config.clone(),
        wake_worker,
    };

    let server = tiny_http::Server::http(&config.listen)
        .map_err(|e| anyhow!("listening on {}: {e}", config.listen))?;
    let addr = server
        .server_addr()
        .to_ip()
        .map_or_else(|| config.listen.clone(), |a| a.to_string());
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {addr} version {}", manifest.version)?;
    stdout.flush()?;
    drop(stdout);

    for mut request in server.incoming_requests() {
        let mut body = String::new();
        let read = request.as_reader().take(MAX_BODY).read_to_string(&mut body);
        let reply = if read.is_err() {
            crate::http::Reply {
                status: 400,
                body: serde_json::json!({ "ErrorMessage": "body is not UTF-8 text" }),
            }
        } else {
            let method = request.method().as_str().to_owned();
            let api_key = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("X-Api-Key"))
                .map(|h| h.value.as_str().to_owned());
            app.handle(&Request {
                method: &method,
                url: request.url(),
                api_key: api_key.as_deref(),
                body: &body,
            })
        };
        let response = tiny_http::Response::from_string(reply.body.to_string())
            .with_status_code(reply.status)
            .with_header(
                tiny_http::Header::from_bytes("Content-Type", "application/json")
                    .expect("a valid static header"),
            );
        if let Err(e) = request.respond(response) {
            eprintln!("writing a response: {e}");
        }
    }
    Ok(())
}

/// Fails unless the schema is what this release expects, migrating first
/// when `migrate_on_start` is set.
fn ensure_schema(db: &mut Db, config: &Config, manifest: &Manifest) -> Result<()> {
    let found = schema_version(db)?;
    if found > manifest.schema {
        return Err(SchemaError::Newer {
            found,
            supported: manifest.schema,
        }
        .into());
    }
    if found < manifest.schema {
        if !config.migrate_on_start {
            return Err(SchemaError::Older {
                found,
                version: manifest.version.clone(),
                needed: manifest.schema,
            }
            .into());
        }
        let broken = manifest.brk == Some(Break::Migration);
        migrations::run_pending(db, manifest.schema, broken, |v| {
            eprintln!("applied migration {v}");
        })
        .context("migrating on start")?;
    }
    Ok(())
}
