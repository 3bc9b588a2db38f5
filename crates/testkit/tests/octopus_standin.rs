//! The Octopus stand-in itself: its API answers, the key it requires, the
//! 418 while not operating normally, the service and the watchdog, the
//! database upgrade and its history row, sqlcmd's backup, verify and
//! restore, msiexec, and the call log that records it all in order.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use testkit::octopus::{Call, Instance, Machine, Seed, StandIn, Task};
use upshift::config::{HeaderValue, Headers};
use upshift::drivers::http::Client;

const API_KEY: &str = "API-STANDINCANARY0123456789";
const MASTER_KEY: &str = "bWFzdGVyLWtleS1zdGFuZC1pbg==";

/// Fields drop in order: the stand-in (which kills its servers) before its folder.
struct Scene {
    octopus: StandIn,
    machine: Machine,
    node: Instance,
    _dir: tempfile::TempDir,
}

/// A world with database `Octopus` at 2026.1.0 and machine `octo-1` running
/// nothing yet, its instance `OctopusServer` being node `octo-1`.
fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let octopus = StandIn::create(dir.path(), Path::new(env!("CARGO_BIN_EXE_octopus-standin")));
    octopus.create_database(
        "Octopus",
        &Seed {
            version: "2026.1.0".into(),
            api_key: API_KEY.into(),
            licence_text: "<License>stand-in</License>".into(),
            licence_max: "2026.2.5".into(),
            projects: 12,
        },
    );
    octopus.sql_login("upshift", "sql-secret");
    let machine = octopus.machine("octo-1", "2026.1.0");
    let node = machine.add_instance("OctopusServer", "octo-1", "Octopus", MASTER_KEY);
    Scene {
        octopus,
        machine,
        node,
        _dir: dir,
    }
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("SQLCMDPASSWORD", "sql-secret")
        .output()
        .unwrap()
}

fn octopus_server(s: &Scene, args: &[&str]) -> Output {
    run(&s.machine.octopus_server(), args)
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start(s: &Scene) {
    ok(octopus_server(
        s,
        &["service", "--instance=OctopusServer", "--start"],
    ));
}

fn stop(s: &Scene) {
    ok(octopus_server(
        s,
        &["service", "--instance", "OctopusServer", "--stop"],
    ));
}

fn request(
    s: &Scene,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut headers = Headers::new();
    if let Some(key) = key {
        headers.insert("X-Octopus-ApiKey".into(), HeaderValue::Plain(key.into()));
    }
    let answer = Client::new(Duration::from_secs(5))
        .send(
            method,
            &format!("{}{path}", s.node.url()),
            &[&headers],
            body.as_ref(),
        )
        .unwrap();
    (
        answer.status,
        serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
    )
}

/// An msiexec exit code as a Unix process reports it (its low 8 bits).
fn msi_exit(code: i32) -> Option<i32> {
    Some(code & 0xff)
}

fn get(s: &Scene, path: &str) -> (u16, Value) {
    request(s, "GET", path, Some(API_KEY), None)
}

#[test]
fn the_api_answers_and_requires_the_key() {
    let s = scene();
    start(&s);
    assert!(s.node.is_running());
    assert_eq!(get(&s, "/api").1["Version"], "2026.1.0");
    let (status, health) = request(&s, "GET", "/api/serverstatus/health", None, None);
    assert_eq!(
        (status, &health["IsOperatingNormally"]),
        (200, &json!(true))
    );
    assert_eq!(
        request(&s, "GET", "/api/octopusservernodes/ping", None, None).0,
        200
    );

    for key in [None, Some("API-WRONG")] {
        for path in [
            "/api/maintenanceconfiguration",
            "/api/tasks",
            "/api/serverstatus",
            "/api/licenses/licenses-current",
        ] {
            assert_eq!(
                request(&s, "GET", path, key, None).0,
                401,
                "{path} with {key:?}"
            );
        }
        let on = json!({ "Id": "maintenance", "IsInMaintenanceMode": true });
        assert_eq!(
            request(&s, "PUT", "/api/maintenanceconfiguration", key, Some(on)).0,
            401
        );
    }
    assert!(!s.octopus.database("Octopus").maintenance);

    let on = json!({ "Id": "maintenance", "IsInMaintenanceMode": true });
    let (status, body) = request(
        &s,
        "PUT",
        "/api/maintenanceconfiguration",
        Some(API_KEY),
        Some(on),
    );
    assert_eq!((status, &body["IsInMaintenanceMode"]), (200, &json!(true)));
    assert_eq!(
        get(&s, "/api/maintenanceconfiguration").1["IsInMaintenanceMode"],
        true
    );
    let (status, health) = request(&s, "GET", "/api/serverstatus/health", None, None);
    assert_eq!(
        (status, &health["IsEntireClusterReadOnly"]),
        (200, &json!(true))
    );
    s.octopus.set_fault("health-418-in-maintenance", true);
    assert_eq!(
        request(&s, "GET", "/api/serverstatus/health", None, None).0,
        418
    );
    s.octopus.set_fault("health-418-in-maintenance", false);
    let bad = json!({ "Id": "maintenance" });
    assert_eq!(
        request(
            &s,
            "PUT",
            "/api/maintenanceconfiguration",
            Some(API_KEY),
            Some(bad)
        )
        .0,
        400
    );

    let status = get(&s, "/api/serverstatus").1;
    assert_eq!(
        status["MaximumAvailableVersionCoveredByLicense"],
        "2026.2.5"
    );
    assert_eq!(status["IsInMaintenanceMode"], true);
    assert_eq!(
        get(&s, "/api/licenses/licenses-current").1["LicenseText"],
        "<License>stand-in</License>"
    );
    assert_eq!(get(&s, "/api/nothing").0, 404);

    stop(&s);
    assert!(!s.node.is_running());
    let refused = Client::new(Duration::from_secs(2)).get(&format!("{}/api", s.node.url()), &[]);
    assert!(refused.is_err(), "still answering after the stop");

    let calls = s.octopus.calls();
    let logged = serde_json::to_string(&calls).unwrap();
    assert!(
        !logged.contains(API_KEY) && !logged.contains("API-WRONG"),
        "{logged}"
    );
    let api: Vec<&Call> = calls.iter().filter(|c| c.program == "api").collect();
    assert_eq!(api.len(), 4, "every PUT is logged, no GET: {api:?}");
    assert_eq!(api[0].args[..2], ["PUT", "/api/maintenanceconfiguration"]);
}

#[test]
fn the_task_count_drains_with_time_and_nodes_drain() {
    let s = scene();
    let mut db = s.octopus.database("Octopus");
    let soon = testkit::octopus::files::now_ms() + 600;
    db.tasks = vec![
        Task {
            id: "ServerTasks-1".into(),
            state: "Executing".into(),
            until: soon,
        },
        Task {
            id: "ServerTasks-2".into(),
            state: "Cancelling".into(),
            until: soon,
        },
        Task {
            id: "ServerTasks-3".into(),
            state: "Queued".into(),
            until: soon + 60_000,
        },
    ];
    s.octopus.set_database("Octopus", &db);
    start(&s);
    let running = "/api/tasks?states=Executing,Cancelling&take=0";
    let (status, tasks) = get(&s, running);
    assert_eq!((status, &tasks["TotalResults"]), (200, &json!(2)));
    assert_eq!(tasks["Items"], json!([]));
    assert_eq!(
        get(&s, "/api/tasks?states=Queued").1["Items"][0]["Id"],
        "ServerTasks-3"
    );
    testkit::wait_until("the tasks to finish", Duration::from_secs(10), || {
        get(&s, running).1["TotalResults"] == 0
    });

    ok(octopus_server(
        &s,
        &[
            "node",
            "--instance=OctopusServer",
            "--drain=true",
            "--wait=0",
        ],
    ));
    assert!(s.octopus.database("Octopus").nodes["octo-1"].drain);
    assert_eq!(
        request(&s, "GET", "/api/serverstatus/health", None, None).1
            ["IsEntireClusterDrainingTasks"],
        true
    );
    ok(octopus_server(
        &s,
        &["node", "--instance=OctopusServer", "--drain=false"],
    ));
    assert!(!s.octopus.database("Octopus").nodes["octo-1"].drain);
    stop(&s);
}

#[test]
fn service_status_watchdog_and_master_key() {
    let s = scene();
    let status = |s: &Scene| {
        octopus_server(s, &["service", "--instance=OctopusServer", "--status"])
            .status
            .code()
    };
    assert_eq!(status(&s), Some(3));
    stop(&s);
    start(&s);
    start(&s);
    assert_eq!(status(&s), Some(0));

    ok(octopus_server(
        &s,
        &[
            "watchdog",
            "--create",
            "--instances=OctopusServer",
            "--interval=5",
        ],
    ));
    assert_eq!(s.machine.watchdog().unwrap().instances, "OctopusServer");
    ok(octopus_server(
        &s,
        &["watchdog", "--delete", "--instances=OctopusServer"],
    ));
    assert!(s.machine.watchdog().is_none());
    ok(octopus_server(
        &s,
        &["watchdog", "--delete", "--instances=OctopusServer"],
    ));

    let json = ok(octopus_server(
        &s,
        &[
            "show-master-key",
            "--instance=OctopusServer",
            "--format=json",
        ],
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap(),
        json!({ "MasterKey": MASTER_KEY })
    );
    assert_eq!(
        ok(octopus_server(
            &s,
            &["show-master-key", "--instance=OctopusServer"]
        ))
        .trim(),
        MASTER_KEY
    );

    for bad in [
        &["service", "--instance=OctopusServer", "--sideways"][..],
        &["reticulate"],
        &["database", "--instance=Nope", "--upgrade"],
    ] {
        assert_eq!(octopus_server(&s, bad).status.code(), Some(1), "{bad:?}");
    }
    stop(&s);
    assert_eq!(status(&s), Some(3));

    s.octopus.set_fault("service-start", true);
    let out = octopus_server(&s, &["service", "--instance=OctopusServer", "--start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not be started"));
    assert!(!s.node.is_running());

    let calls: Vec<String> = s
        .octopus
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect();
    let expected_start = [
        "Octopus.Server service --instance=OctopusServer --status",
        "Octopus.Server service --instance OctopusServer --stop",
        "Octopus.Server service --instance=OctopusServer --start",
        "Octopus.Server run --instance=OctopusServer",
        "Octopus.Server service --instance=OctopusServer --start",
        "Octopus.Server service --instance=OctopusServer --status",
        "Octopus.Server watchdog --create --instances=OctopusServer --interval=5",
    ];
    assert_eq!(calls[..expected_start.len()], expected_start);
    assert!(s.octopus.calls().iter().all(|c| c.who == "octo-1"));
}

#[test]
fn msiexec_then_database_upgrade_with_health_418_in_between() {
    let s = scene();
    let msi = s.octopus.dir().join("Octopus.2026.2.0-x64.msi");
    std::fs::write(
        &msi,
        json!({ "ProductName": "Octopus Deploy Server", "ProductVersion": "2026.2.0" }).to_string(),
    )
    .unwrap();
    let location = format!("INSTALLLOCATION={}", s.machine.install_location().display());
    let install = |s: &Scene| {
        run(
            &s.octopus.msiexec(),
            &[
                "/i",
                msi.to_str().unwrap(),
                "/quiet",
                "RUNMANAGERONEXIT=no",
                &location,
            ],
        )
    };

    start(&s);
    assert_eq!(
        install(&s).status.code(),
        msi_exit(1603),
        "installed over a running server"
    );
    let out = octopus_server(&s, &["database", "--instance=OctopusServer", "--upgrade"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("while Octopus Server nodes are running: octo-1"));
    stop(&s);
    s.octopus.set_fault("msiexec", true);
    assert_eq!(install(&s).status.code(), msi_exit(1603));
    s.octopus.set_fault("msiexec", false);
    assert_eq!(s.machine.installed_version(), "2026.1.0");
    ok(install(&s));
    assert_eq!(s.machine.installed_version(), "2026.2.0");
    assert_eq!(
        run(&s.octopus.msiexec(), &["/i", "/nowhere.msi", &location])
            .status
            .code(),
        msi_exit(1619)
    );
    assert_eq!(
        run(&s.octopus.msiexec(), &["/i", msi.to_str().unwrap()])
            .status
            .code(),
        msi_exit(1639)
    );

    start(&s);
    let (status, health) = request(&s, "GET", "/api/serverstatus/health", None, None);
    assert_eq!(status, 418, "{health}");
    assert!(health["Description"]
        .as_str()
        .unwrap()
        .contains("database upgrade is needed"));
    assert_eq!(get(&s, "/api").1["Version"], "2026.2.0");
    stop(&s);

    let before = s.octopus.database("Octopus");
    s.octopus.set_fault("database-upgrade", true);
    let out = octopus_server(&s, &["database", "--instance=OctopusServer", "--upgrade"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        s.octopus.database("Octopus"),
        before,
        "a failed upgrade changed the database"
    );
    s.octopus.set_fault("database-upgrade", false);

    ok(octopus_server(
        &s,
        &["database", "--instance=OctopusServer", "--upgrade"],
    ));
    let after = s.octopus.database("Octopus");
    assert_eq!(after.schema_version, "2026.2.0");
    let last = after.installation_history.last().unwrap();
    assert_eq!(
        (last.node.as_str(), last.version.as_str()),
        ("octo-1", "2026.2.0")
    );
    assert!(ok(octopus_server(
        &s,
        &["database", "--instance=OctopusServer", "--upgrade"]
    ))
    .contains("up to date"));
    assert_eq!(
        s.octopus.database("Octopus"),
        after,
        "a second upgrade changed something"
    );
    start(&s);
    assert_eq!(
        request(&s, "GET", "/api/serverstatus/health", None, None).0,
        200
    );
    stop(&s);

    // A version the licence does not cover is refused, the database untouched.
    std::fs::write(&msi, json!({ "ProductVersion": "2026.3.0" }).to_string()).unwrap();
    ok(install(&s));
    let out = octopus_server(&s, &["database", "--instance=OctopusServer", "--upgrade"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("license does not cover"));
    assert_eq!(s.octopus.database("Octopus"), after);
}

#[test]
fn sqlcmd_backs_up_verifies_and_restores() {
    let s = scene();
    let sql = |args: &[&str]| run(&s.octopus.sqlcmd(), args);
    let bak = s.octopus.dir().join("octopus-1.bak");
    let bak = bak.to_str().unwrap();
    let backup = format!("BACKUP DATABASE [Octopus] TO DISK = N'{bak}' WITH COPY_ONLY, CHECKSUM");
    let verify = format!("RESTORE VERIFYONLY FROM DISK = N'{bak}' WITH CHECKSUM");
    let restore = format!("RESTORE DATABASE [Octopus] FROM DISK = N'{bak}' WITH REPLACE");
    let with = |q: &str| {
        ["-S", "localhost", "-U", "upshift", "-b", "-r1", "-Q"]
            .iter()
            .map(|a| a.to_string())
            .chain([q.to_string()])
            .collect::<Vec<_>>()
    };
    let sql_q = |q: &str| sql(&with(q).iter().map(String::as_str).collect::<Vec<_>>());

    let before = s.octopus.database("Octopus");
    assert!(ok(sql_q(&backup)).contains("BACKUP DATABASE successfully processed"));
    assert!(ok(sql_q(&verify)).contains("is valid"));
    let again = sql_q(&backup);
    assert_eq!(
        again.status.code(),
        Some(1),
        "backed up into an existing file"
    );

    let mut changed = before.clone();
    changed.projects = 99;
    changed.schema_version = "2026.2.0".into();
    s.octopus.set_database("Octopus", &changed);

    start(&s);
    let busy = sql_q(&restore);
    assert_eq!(busy.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("Msg 3101"),
        "{busy:?}"
    );
    assert!(
        busy.stdout.is_empty() || !String::from_utf8_lossy(&busy.stdout).contains("Msg"),
        "-r1 sends errors to stderr"
    );
    stop(&s);
    let no_replace = sql_q(&restore.replace(" WITH REPLACE", ""));
    assert!(String::from_utf8_lossy(&no_replace.stderr).contains("Msg 3159"));
    ok(sql_q(&restore));
    assert_eq!(s.octopus.database("Octopus"), before);

    // Damage is found; without -b sqlcmd exits 0 anyway, as the real one does.
    let mut bytes = std::fs::read(bak).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(bak, bytes).unwrap();
    let damaged = sql_q(&verify);
    assert_eq!(damaged.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&damaged.stderr).contains("Msg 3189"));
    let lenient = sql(&["-S", "localhost", "-U", "upshift", "-Q", &verify]);
    assert_eq!(lenient.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&lenient.stdout).contains("Msg 3189"));
    assert_eq!(sql_q(&restore).status.code(), Some(1));
    assert_eq!(
        s.octopus.database("Octopus"),
        before,
        "a damaged backup was restored"
    );

    let login = Command::new(s.octopus.sqlcmd())
        .args(with(&verify))
        .env("SQLCMDPASSWORD", "wrong")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&login.stderr).contains("Login failed for user 'upshift'"));
    assert_eq!(sql_q("SELECT 1").status.code(), Some(1));
    s.octopus.set_fault("backup", true);
    let full = sql_q(&backup.replace("octopus-1", "octopus-2"));
    assert!(String::from_utf8_lossy(&full.stderr).contains("not enough space"));
    let calls = s.octopus.calls();
    let logged = serde_json::to_string(&calls).unwrap();
    assert!(
        !logged.contains("sql-secret"),
        "the password reached the call log"
    );
    assert!(calls
        .iter()
        .any(|c| c.who == "sql" && c.args.last() == Some(&restore)));
}

#[test]
fn dropping_the_stand_in_kills_its_servers() {
    let s = scene();
    start(&s);
    let pid: i32 = std::fs::read_to_string(
        s.octopus
            .dir()
            .join("machines/octo-1/run/OctopusServer.pid"),
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    assert!(testkit::octopus::files::alive(pid));
    drop(s.octopus);
    testkit::wait_until("the server to die", Duration::from_secs(5), || {
        !testkit::octopus::files::alive(pid)
    });
}
