//! The Octopus preset end to end against the Octopus stand-in
//! (`testkit::octopus`): one node, then two sharing the database, driven by
//! the same commands, hooks, API calls, feed, key sources, licence check and
//! `sqlcmd` backups as the preset, with the stand-in's programs in place of
//! the Windows paths. They prove the order of calls against the runbook
//! (HA included), the choice of release, the licence and trust refusals,
//! the rollback of a failed `database --upgrade` (old MSI, restored
//! database), and that no secret shows anywhere.

use crate::support::{all_files, json_lines, summary};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use testkit::octopus::{self, Instance, Machine, Seed, StandIn};
use testkit::FeedServer;

const API_KEY: &str = "API-CANARYOCTOPUSKEY7F3A9";
const SQL_PASSWORD: &str = "sql-password-canary-51D2";
const MASTER_KEY: &str = "Y2FuYXJ5LW1hc3Rlci1rZXktN2YzYQ==";
const FEED: [&str; 6] = [
    "2.6.5.1010",
    "2025.4.9",
    "2026.1.0",
    "2026.1.7",
    "2026.2.3",
    "2027.1.0",
];

/// Fields drop in order: the stand-in (which kills its server) before the folder.
struct Scene {
    standin: StandIn,
    machines: Vec<Machine>,
    nodes: Vec<Instance>,
    feed: FeedServer,
    instance_file: PathBuf,
    /// Calls made while setting up, left out of `runbook_calls`.
    setup_calls: usize,
    _dir: tempfile::TempDir,
}

const INSTANCE: &str = r#"
[instance]
name = "octopus"
product = "octopus"
http_timeout = "10s"

[release]
format = "octopus"
source = "@FEED@/download/upgrade/v3"
artifact_url = "@FEED@/octopus/Octopus.{version}-x64.msi"
verify = "sha256"

[release.sha256]
"2026.2.3" = "@SHA@"

[install]
kind = "command"
root = "@ROOT@"
run = ["cp", "{artifact}", "{dir}/"]
activate = ["@MSIEXEC@", "/i", "{dir}/Octopus.{version}-x64.msi", "/quiet", "RUNMANAGERONEXIT=no", "INSTALLLOCATION={root}/../Octopus"]
timeout = "1m"

[service]
@SERVICE@
[maintenance]
kind = "http"
headers = { "X-Octopus-ApiKey" = { env = "OCTOPUS_API_KEY" } }
on = { method = "PUT", url = "@URL@/api/maintenanceconfiguration", body = { Id = "maintenance", IsInMaintenanceMode = true } }
off = { method = "PUT", url = "@URL@/api/maintenanceconfiguration", body = { Id = "maintenance", IsInMaintenanceMode = false } }
status = { url = "@URL@/api/maintenanceconfiguration", pointer = "/IsInMaintenanceMode" }

[drain]
url = "@URL@/api/tasks?states=Executing,Cancelling&take=0"
pointer = "/TotalResults"
headers = { "X-Octopus-ApiKey" = { env = "OCTOPUS_API_KEY" } }
timeout = "20s"
interval = "100ms"

[database]
kind = "command"
name = "Octopus"
backup = ["@SQLCMD@", "-S", "sql", "-U", "upshift", "-b", "-r1", "-Q", "BACKUP DATABASE [Octopus] TO DISK = N'{backup}' WITH COPY_ONLY, CHECKSUM"]
verify = ["@SQLCMD@", "-S", "sql", "-U", "upshift", "-b", "-r1", "-Q", "RESTORE VERIFYONLY FROM DISK = N'{backup}' WITH CHECKSUM"]
restore = ["@SQLCMD@", "-S", "sql", "-U", "upshift", "-b", "-r1", "-Q", "RESTORE DATABASE [Octopus] FROM DISK = N'{backup}' WITH REPLACE"]
timeout = "1m"

[database.env]
SQLCMDPASSWORD = { env = "OCTOPUS_SQL_PASSWORD" }

[migration]
kind = "command"
run = ["@SERVER@", "database", "--instance=OctopusServer", "--upgrade"]
timeout = "1m"

[keys]
passphrase = { file = "bundle.pass" }

[[keys.sources]]
name = "master-key"
from = { command = ["@SERVER@", "show-master-key", "--instance=OctopusServer", "--format=json"] }
pointer = "/MasterKey"

[[keys.sources]]
name = "licence"
from = { http = { url = "@URL@/api/licenses/licenses-current", headers = { "X-Octopus-ApiKey" = { env = "OCTOPUS_API_KEY" } } } }
pointer = "/LicenseText"

[licence]
from = { http = { url = "@URL@/api/serverstatus", headers = { "X-Octopus-ApiKey" = { env = "OCTOPUS_API_KEY" } } } }
pointer = "/MaximumAvailableVersionCoveredByLicense"
covers = "version"

[[checks]]
kind = "http"
name = "cluster health"
url = "@URL@/api/serverstatus/health"
within = "10s"

[[checks]]
kind = "version"
name = "version"
url = "@URL@/api"
pointer = "/Version"
within = "10s"

[[checks]]
kind = "http"
name = "octo-1 ping"
url = "@URL@/api/octopusservernodes/ping"
within = "10s"
"#;

/// The Octopus service of one machine, as the preset drives it.
const SERVICE: &str = r#"kind = "command"
start = ["@SERVER@", "service", "--instance=OctopusServer", "--start"]
stop = ["@SERVER@", "service", "--instance=OctopusServer", "--stop"]
status = ["@SERVER@", "service", "--instance=OctopusServer", "--status"]
before_stop = [
  ["@SERVER@", "watchdog", "--delete", "--instances=OctopusServer"],
  ["@SERVER@", "node", "--instance=OctopusServer", "--drain=true", "--wait=0"],
]
after_start = [
  ["@SERVER@", "node", "--instance=OctopusServer", "--drain=false"],
  ["@SERVER@", "watchdog", "--create", "--instances=OctopusServer", "--interval=5"],
]
stop_timeout = "30s"
start_timeout = "30s"
"#;

/// One `[[nodes]]` entry: a machine's own root, service and ping check.
const NODE: &str = r#"
[[nodes]]
name = "@NAME@"
root = "@ROOT@"

[nodes.service]
@SERVICE@
[[nodes.checks]]
kind = "http"
name = "ping"
url = "@URL@/api/octopusservernodes/ping"
within = "10s"
"#;

/// Octopus 2026.1.0 installed and running on node `octo-1`, laid out for
/// upshift, licensed up to `licence_max`, with the feed served over HTTP.
fn scene(licence_max: &str) -> Scene {
    scene_of(licence_max, 1)
}

/// The same with `n` nodes (`octo-1` .. `octo-<n>`) sharing the database;
/// with more than one they are `[[nodes]]`, the first upgrading the database.
fn scene_of(licence_max: &str, n: usize) -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    let served = dir.path().join("served");
    std::fs::create_dir_all(&world).unwrap();
    std::fs::create_dir_all(&served).unwrap();
    let shas = octopus::write_feed(&served, &FEED);
    let feed = FeedServer::start(served.clone());

    let standin = StandIn::create(&world, &StandIn::locate_binary());
    standin.create_database(
        "Octopus",
        &Seed {
            version: "2026.1.0".into(),
            api_key: API_KEY.into(),
            licence_text: "<License>canary-licence-text</License>".into(),
            licence_max: licence_max.into(),
            projects: 40,
        },
    );
    standin.sql_login("upshift", SQL_PASSWORD);
    let mut machines = Vec::new();
    let mut nodes = Vec::new();
    for i in 1..=n {
        let name = format!("octo-{i}");
        let machine = standin.machine(&name, "2026.1.0");
        nodes.push(machine.add_instance("OctopusServer", &name, "Octopus", MASTER_KEY));
        lay_out(&root_of(&machine), &served);
        machines.push(machine);
    }
    let inst = dir.path().join("instance");
    std::fs::create_dir_all(&inst).unwrap();
    std::fs::write(inst.join("bundle.pass"), "bundle-passphrase-canary\n").unwrap();
    let fill = |text: &str, machine: &Machine, node: &Instance| {
        text.replace("@SERVICE@", SERVICE)
            .replace("@FEED@", &feed.url)
            .replace("@SHA@", &shas["2026.2.3"])
            .replace("@MSIEXEC@", standin.msiexec().to_str().unwrap())
            .replace("@SQLCMD@", standin.sqlcmd().to_str().unwrap())
            .replace("@ROOT@", root_of(machine).to_str().unwrap())
            .replace("@SERVER@", machine.octopus_server().to_str().unwrap())
            .replace("@NAME@", &machine.name())
            .replace("@URL@", &node.url())
    };
    let mut text = fill(INSTANCE, &machines[0], &nodes[0]);
    if n > 1 {
        for (machine, node) in machines.iter().zip(&nodes) {
            text += &fill(NODE, machine, node);
        }
    }
    let instance_file = inst.join("upshift.toml");
    std::fs::write(&instance_file, text).unwrap();

    for machine in &machines {
        let started = std::process::Command::new(machine.octopus_server())
            .args(["service", "--instance=OctopusServer", "--start"])
            .output()
            .unwrap();
        assert!(started.status.success(), "{started:?}");
    }
    Scene {
        setup_calls: standin.calls().len(),
        standin,
        machines,
        nodes,
        feed,
        instance_file,
        _dir: dir,
    }
}

/// Where upshift keeps a machine's versions: beside its install location.
fn root_of(machine: &Machine) -> PathBuf {
    machine.install_location().parent().unwrap().join("upshift")
}

/// 2026.1.0's MSI staged under `root` (`versions/2026.1.0`), `current` on it.
fn lay_out(root: &Path, served: &Path) {
    let versions = root.join("versions");
    std::fs::create_dir_all(versions.join("2026.1.0")).unwrap();
    let msi = octopus::ARTIFACT_PATH.replace("{version}", "2026.1.0");
    std::fs::copy(
        served.join(&msi),
        versions
            .join("2026.1.0")
            .join(Path::new(&msi).file_name().unwrap()),
    )
    .unwrap();
    std::fs::write(versions.join(".2026.1.0.staged"), "staged\n").unwrap();
    std::os::unix::fs::symlink("versions/2026.1.0", root.join("current")).unwrap();
}

impl Scene {
    fn upshift(&self, args: &[&str]) -> Output {
        assert_cmd::Command::cargo_bin("upshift")
            .unwrap()
            .arg("-c")
            .arg(&self.instance_file)
            .args(args)
            .env("OCTOPUS_API_KEY", API_KEY)
            .env("OCTOPUS_SQL_PASSWORD", SQL_PASSWORD)
            .write_stdin("")
            .output()
            .unwrap()
    }

    /// The stand-in's calls that matter to the runbook's order, one string
    /// each (status questions, the server process and key reads left out).
    fn runbook_calls(&self) -> Vec<String> {
        self.standin
            .calls()
            .into_iter()
            .skip(self.setup_calls)
            .filter(|c| {
                !c.args
                    .iter()
                    .any(|a| a == "--status" || a == "run" || a == "show-master-key")
            })
            .map(|c| {
                let line = match c.program.as_str() {
                    "api" => {
                        let body: Value = serde_json::from_str(&c.args[2]).unwrap_or(Value::Null);
                        format!(
                            "api {} {} {}",
                            c.args[0], c.args[1], body["IsInMaintenanceMode"]
                        )
                    }
                    "msiexec" => format!(
                        "msiexec {}",
                        Path::new(&c.args[1]).file_name().unwrap().to_string_lossy()
                    ),
                    "sqlcmd" => {
                        let query = c.args.iter().skip_while(|a| *a != "-Q").nth(1);
                        let words: Vec<&str> =
                            query.map_or(vec![], |q| q.split(' ').take(2).collect());
                        format!("sqlcmd {}", words.join(" "))
                    }
                    _ => format!("{} {}", c.program, c.args[..c.args.len().min(3)].join(" ")),
                };
                format!("{}: {line}", c.who)
            })
            .collect()
    }

    /// No secret anywhere upshift wrote: its output, its state folder (the
    /// journal included), the stand-in's call log and the server's log.
    fn no_secret_in(&self, outputs: &[&Output]) {
        let mut text = String::new();
        for out in outputs {
            text += &String::from_utf8_lossy(&out.stdout);
            text += &String::from_utf8_lossy(&out.stderr);
        }
        text += &serde_json::to_string(&self.standin.calls()).unwrap();
        for node in &self.nodes {
            text += &node.log();
        }
        let state = self.instance_file.parent().unwrap().join(".upshift");
        // Encrypted key bundles and the database's own backups (which hold
        // the licence as the database does) are left out; upshift's files
        // about them (catalog, sidecars) are not.
        let backups = state.join("backups");
        for entry in all_files(&state) {
            let name = entry.to_string_lossy();
            let data = entry.starts_with(&backups) && !name.ends_with(".upshift.json");
            if entry.extension().is_none_or(|e| e != "age") && !data {
                text += &String::from_utf8_lossy(&std::fs::read(&entry).unwrap());
            }
        }
        for secret in [
            API_KEY,
            SQL_PASSWORD,
            MASTER_KEY,
            "canary-licence-text",
            "bundle-passphrase-canary",
        ] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
    }
}

fn exit(out: &Output) -> Option<i32> {
    out.status.code()
}

fn show(out: &Output) -> String {
    format!(
        "{:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn plan_takes_the_newest_pinned_release_of_the_same_major() {
    let s = scene("2027.5.0");
    let out = s.upshift(&["plan", "--json"]);
    assert_eq!(exit(&out), Some(0), "{}", show(&out));
    let plan = json_lines(&out.stdout)
        .into_iter()
        .find(|l| l["type"] == "plan")
        .unwrap();
    assert_eq!(
        (plan["from"].as_str(), plan["to"].as_str()),
        (Some("2026.1.0"), Some("2026.2.3"))
    );
    assert_eq!(plan["change"], "minor");

    // The next year is a major upgrade: asked for, it still needs a pin.
    let out = s.upshift(&["plan", "--allow-major", "--to", "2027.1.0"]);
    assert_eq!(exit(&out), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no SHA-256 to check Octopus.2027.1.0-x64.msi"),
        "{}",
        show(&out)
    );
    assert!(s.feed.requests() > 0);
    s.no_secret_in(&[&out]);
}

#[test]
fn plan_refuses_a_release_the_licence_does_not_cover() {
    let s = scene("2026.2.1");
    let out = s.upshift(&["plan"]);
    assert_eq!(exit(&out), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the licence covers releases up to version 2026.2.1; 2026.2.3 is newer"),
        "{}",
        show(&out)
    );
    assert!(s.runbook_calls().is_empty(), "{:?}", s.runbook_calls());
}

/// The runbook up to the database upgrade, as the stand-in logs it: the
/// same in an upgrade and in one whose database upgrade fails.
const FORWARD: [&str; 8] = [
    "octo-1: api PUT /api/maintenanceconfiguration true",
    "octo-1: Octopus.Server watchdog --delete --instances=OctopusServer",
    "octo-1: Octopus.Server node --instance=OctopusServer --drain=true",
    "octo-1: Octopus.Server service --instance=OctopusServer --stop",
    "sql: sqlcmd BACKUP DATABASE",
    "sql: sqlcmd RESTORE VERIFYONLY",
    "octo-1: msiexec Octopus.2026.2.3-x64.msi",
    "octo-1: Octopus.Server database --instance=OctopusServer --upgrade",
];

#[test]
fn upgrade_follows_the_runbook_order() {
    let s = scene("2026.2.5");
    let out = s.upshift(&["upgrade", "--yes", "--json"]);
    assert_eq!(exit(&out), Some(0), "{}", show(&out));
    assert_eq!(summary(&out.stdout)["outcome"], "upgraded");
    assert_eq!(
        s.runbook_calls(),
        [
            FORWARD.as_slice(),
            &[
                "octo-1: Octopus.Server service --instance=OctopusServer --start",
                "octo-1: Octopus.Server node --instance=OctopusServer --drain=false",
                "octo-1: Octopus.Server watchdog --create --instances=OctopusServer",
                "octo-1: api PUT /api/maintenanceconfiguration false",
            ],
        ]
        .concat()
    );
    assert_eq!(s.machines[0].installed_version(), "2026.2.3");
    let db = s.standin.database("Octopus");
    assert_eq!(db.schema_version, "2026.2.3");
    assert_eq!(db.installation_history.last().unwrap().version, "2026.2.3");
    assert!(!db.maintenance && !db.nodes["octo-1"].drain);
    assert!(s.machines[0].watchdog().is_some() && s.nodes[0].is_running());
    s.no_secret_in(&[&out]);
}

#[test]
fn a_failing_database_upgrade_is_rolled_back() {
    let s = scene("2026.2.5");
    let before = s.standin.database("Octopus");
    s.standin.set_fault("database-upgrade", true);
    let out = s.upshift(&["upgrade", "--yes", "--json"]);
    assert_eq!(exit(&out), Some(1), "{}", show(&out));
    let summary = summary(&out.stdout);
    assert_eq!(
        (summary["outcome"].as_str(), summary["failed_step"].as_str()),
        (Some("rolled_back"), Some("migrate"))
    );
    assert!(
        summary["error"]
            .as_str()
            .unwrap()
            .contains("fault switch database-upgrade"),
        "{summary}"
    );
    assert_eq!(
        s.runbook_calls(),
        [
            FORWARD.as_slice(),
            &[
                // The rollback: the old MSI, the database restored from the
                // verified backup, the old version started, maintenance off.
                "octo-1: msiexec Octopus.2026.1.0-x64.msi",
                "sql: sqlcmd RESTORE VERIFYONLY",
                "sql: sqlcmd RESTORE DATABASE",
                "octo-1: Octopus.Server service --instance=OctopusServer --start",
                "octo-1: Octopus.Server node --instance=OctopusServer --drain=false",
                "octo-1: Octopus.Server watchdog --create --instances=OctopusServer",
                "octo-1: api PUT /api/maintenanceconfiguration false",
            ],
        ]
        .concat()
    );
    assert_eq!(s.machines[0].installed_version(), "2026.1.0");
    let mut after = s.standin.database("Octopus");
    after.nodes.clear();
    let mut expected = before.clone();
    expected.nodes.clear();
    assert_eq!(after, expected, "the Octopus database changed");
    assert!(s.machines[0].watchdog().is_some() && s.nodes[0].is_running());
    let status = s.upshift(&["check"]);
    assert_eq!(exit(&status), Some(0), "{}", show(&status));
    s.no_secret_in(&[&out, &status]);
}

#[test]
fn a_cluster_is_upgraded_in_the_runbooks_ha_order() {
    let s = scene_of("2026.2.5", 2);
    let before = s.standin.database("Octopus");
    let out = s.upshift(&["upgrade", "--yes", "--json"]);
    assert_eq!(exit(&out), Some(0), "{}", show(&out));
    let calls = s.runbook_calls();
    let at = |needle: &str| {
        calls
            .iter()
            .position(|c| c == needle)
            .unwrap_or_else(|| panic!("{needle} not in {calls:#?}"))
    };
    let stop = |n: &str| {
        at(&format!(
            "{n}: Octopus.Server service --instance=OctopusServer --stop"
        ))
    };
    let start = |n: &str| {
        at(&format!(
            "{n}: Octopus.Server service --instance=OctopusServer --start"
        ))
    };
    let msi = |n: &str| at(&format!("{n}: msiexec Octopus.2026.2.3-x64.msi"));
    let upgrade = at("octo-1: Octopus.Server database --instance=OctopusServer --upgrade");
    let backup = at("sql: sqlcmd BACKUP DATABASE");
    // Maintenance on -> stop ALL nodes -> back up the database -> upgrade one
    // node and its database -> install on the others -> start them -> off.
    assert!(at("octo-1: api PUT /api/maintenanceconfiguration true") < stop("octo-1"));
    assert!(stop("octo-1") < backup && stop("octo-2") < backup);
    assert!(backup < msi("octo-1") && msi("octo-1") < upgrade);
    assert!(upgrade < start("octo-1") && start("octo-1") < msi("octo-2"));
    assert!(msi("octo-2") < start("octo-2"));
    assert!(start("octo-2") < at("octo-1: api PUT /api/maintenanceconfiguration false"));
    let upgrades = calls
        .iter()
        .filter(|c| c.contains("database --instance"))
        .count();
    assert_eq!(upgrades, 1, "the database is upgraded once: {calls:#?}");
    for machine in &s.machines {
        assert_eq!(
            machine.installed_version(),
            "2026.2.3",
            "{}",
            machine.name()
        );
        assert!(machine.watchdog().is_some(), "{}", machine.name());
    }
    assert!(s.nodes.iter().all(Instance::is_running));
    let db = s.standin.database("Octopus");
    assert_eq!(db.schema_version, "2026.2.3");
    assert_ne!(db.schema_version, before.schema_version);
    assert!(!db.maintenance && db.nodes.values().all(|n| !n.drain));
    s.no_secret_in(&[&out]);
}
