//! The stand-in Octopus Server's HTTP API, written from Octopus' REST API
//! reference: only the endpoints an upgrade uses.
//!
//! | Endpoint | Key | Answer |
//! | --- | --- | --- |
//! | `GET /api` | no | `Application`, `Version` (the installed version) |
//! | `GET /api/serverstatus/health` | no | 200, or 418 "not operating normally" |
//! | `GET /api/octopusservernodes/ping` | no | 200 |
//! | `GET`/`PUT /api/maintenanceconfiguration` | yes | `{"Id":"maintenance","IsInMaintenanceMode":..}` |
//! | `GET /api/tasks?states=..&take=..` | yes | a task collection (`TotalResults`, `Items`) |
//! | `GET /api/serverstatus` | yes | `IsInMaintenanceMode`, `MaximumAvailableVersionCoveredByLicense` |
//! | `GET /api/licenses/licenses-current` | yes | `LicenseText`, `SerialNumber` |
//!
//! The API key comes in the `X-Octopus-ApiKey` header; without a valid one
//! the answer is 401. The stand-in is "not operating normally" (418) when
//! the database schema is not the installed version's, or the licence does
//! not cover the installed version. Octopus does not document whether
//! maintenance mode alone makes health answer 418: here it does only while
//! the fault switch `health-418-in-maintenance` is on, so a test can try
//! both. Every request that changes something is logged (never a header).

use super::files::{
    read_json, sha256_hex, write_json, Database, InstanceConfig, MachineDir, World,
};
use serde_json::{json, Value};
use upshift::Version;

/// Serves the instance's API on `127.0.0.1:<port>` until the process is killed.
pub fn serve(world: &World, machine: &MachineDir, cfg: &InstanceConfig) -> Result<(), String> {
    let server = tiny_http::Server::http(("127.0.0.1", cfg.port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", cfg.port))?;
    for mut request in server.incoming_requests() {
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let key = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("X-Octopus-ApiKey"))
            .map(|h| h.value.as_str().to_string());
        let method = request.method().as_str().to_string();
        let url = request.url().to_string();
        if method != "GET" {
            world.log(
                &cfg.node,
                "api",
                &[method.clone(), url.clone(), body.clone()],
            );
        }
        let (status, answer) = answer(world, machine, cfg, &method, &url, key.as_deref(), &body)
            .unwrap_or_else(|e| (500, json!({ "ErrorMessage": e })));
        let header = tiny_http::Header::from_bytes("Content-Type", "application/json")
            .expect("a valid header");
        let response = tiny_http::Response::from_string(answer.to_string())
            .with_status_code(status)
            .with_header(header);
        let _ = request.respond(response);
    }
    Ok(())
}

fn answer(
    world: &World,
    machine: &MachineDir,
    cfg: &InstanceConfig,
    method: &str,
    url: &str,
    key: Option<&str>,
    body: &str,
) -> Result<(u16, Value), String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let db_file = world.database_file(&cfg.database);
    let db: Database = read_json(&db_file)?;
    let installed = machine.installed()?.version;
    match (method, path) {
        ("GET", "/api") => {
            return Ok((
                200,
                json!({ "Application": "Octopus Deploy", "Version": installed, "ApiVersion": "3.0.0" }),
            ))
        }
        ("GET", "/api/serverstatus/health") => return Ok(health(world, &db, &installed)),
        ("GET", "/api/octopusservernodes/ping") => return Ok((200, json!({ "Node": cfg.node }))),
        _ => {}
    }
    let authorised = key.is_some_and(|k| db.api_keys_sha256.contains(&sha256_hex(k.as_bytes())));
    if !authorised {
        return Ok((
            401,
            json!({ "ErrorMessage": "You must be logged in to perform this action. Please provide a valid API key." }),
        ));
    }
    let maintenance =
        |db: &Database| json!({ "Id": "maintenance", "IsInMaintenanceMode": db.maintenance });
    Ok(match (method, path) {
        ("GET", "/api/maintenanceconfiguration") => (200, maintenance(&db)),
        ("PUT", "/api/maintenanceconfiguration") => {
            let sent: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            let Some(on) = sent["IsInMaintenanceMode"].as_bool() else {
                return Ok((
                    400,
                    json!({ "ErrorMessage": "IsInMaintenanceMode is required" }),
                ));
            };
            let mut db = db;
            db.maintenance = on;
            write_json(&db_file, &db)?;
            (200, maintenance(&db))
        }
        ("GET", "/api/tasks") => (200, tasks(&db, query)),
        ("GET", "/api/serverstatus") => (
            200,
            json!({
                "IsInMaintenanceMode": db.maintenance,
                "MaximumAvailableVersion": db.licence.max_version,
                "MaximumAvailableVersionCoveredByLicense": db.licence.max_version,
                "IsUpgradeAvailable": false,
            }),
        ),
        ("GET", "/api/licenses/licenses-current") => (
            200,
            json!({ "LicenseText": db.licence.text, "SerialNumber": "stand-in" }),
        ),
        _ => (
            404,
            json!({ "ErrorMessage": format!("{method} {path} is not part of the stand-in") }),
        ),
    })
}

fn health(world: &World, db: &Database, installed: &str) -> (u16, Value) {
    let version = |v: &str| v.parse::<Version>().ok();
    let schema_ok = db.schema_version == installed;
    let licensed = matches!(
        (version(installed), version(&db.licence.max_version)),
        (Some(i), Some(max)) if i <= max
    );
    let maintenance_418 = db.maintenance && world.faulty("health-418-in-maintenance");
    let normal = schema_ok && licensed && !maintenance_418;
    let description = match (schema_ok, licensed) {
        (false, _) => format!(
            "The database schema is {}, this server is {installed}: a database upgrade is needed",
            db.schema_version
        ),
        (_, false) => "The license does not cover this version".to_string(),
        _ if maintenance_418 => "In maintenance mode".to_string(),
        _ => "Operating normally".to_string(),
    };
    let body = json!({
        "IsOperatingNormally": normal,
        "IsCompliantWithLicense": licensed,
        "IsEntireClusterReadOnly": db.maintenance,
        "IsEntireClusterDrainingTasks": !db.nodes.is_empty() && db.nodes.values().all(|n| n.drain),
        "Description": description,
    });
    (if normal { 200 } else { 418 }, body)
}

/// `?states=A,B&take=N`: the tasks whose state now is one of `states`.
fn tasks(db: &Database, query: &str) -> Value {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    let states: Option<Vec<&str>> = param("states").map(|s| s.split(',').collect());
    let take: usize = param("take").and_then(|t| t.parse().ok()).unwrap_or(30);
    let matching: Vec<Value> = db
        .tasks
        .iter()
        .filter(|t| states.as_ref().is_none_or(|s| s.contains(&t.state_now())))
        .map(|t| json!({ "Id": t.id, "State": t.state_now() }))
        .collect();
    json!({
        "ItemType": "Task",
        "TotalResults": matching.len(),
        "ItemsPerPage": take,
        "Items": matching.iter().take(take).collect::<Vec<_>>(),
    })
}
