//! The stand-in's state, all of it in files under one folder (the *world*),
//! so that separate processes (the test, `Octopus.Server`, the server it
//! starts, `sqlcmd`, `msiexec`) see the same thing, and a test can look:
//!
//! ```text
//! <world>/octopus-standin.json             marks the world; SQL logins
//! <world>/calls.log                        one JSON line per call, in order
//! <world>/faults/<name>                    a fault switch is on while it exists
//! <world>/sql/<database>.json              SQL Server's databases
//! <world>/bin/sqlcmd, <world>/bin/msiexec  links to the stand-in binary
//! <world>/machines/<m>/Octopus/            the install location ("Program Files")
//!     Octopus.Server                       link to the stand-in binary
//!     installed.json                       the version the MSI installed
//! <world>/machines/<m>/instances/<i>.json  an instance's configuration
//! <world>/machines/<m>/run/<i>.pid         the running server's pid
//! <world>/machines/<m>/logs/<i>.log        the server's output
//! <world>/machines/<m>/watchdog.json       the watchdog task, while it exists
//! ```
//!
//! Every JSON file is replaced by rename, never rewritten in place.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file that marks a world's folder.
pub const MARKER: &str = "octopus-standin.json";

/// The world's settings (the marker file's content).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Settings {
    /// SQL login name -> SHA-256 (hex) of its password.
    pub sql_logins: BTreeMap<String, String>,
}

/// The stand-in Octopus database, as SQL Server would hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// The version whose schema the database has.
    pub schema_version: String,
    /// `OctopusServerInstallationHistory`: one row per database upgrade.
    pub installation_history: Vec<HistoryRow>,
    /// `IsInMaintenanceMode` of `/api/maintenanceconfiguration`.
    pub maintenance: bool,
    pub licence: Licence,
    /// SHA-256 (hex) of each valid API key.
    pub api_keys_sha256: Vec<String>,
    /// Per node: whether it is drained (`node --drain`).
    pub nodes: BTreeMap<String, NodeRow>,
    pub tasks: Vec<Task>,
    /// Some data, so a restore is visible.
    pub projects: u32,
}

/// A row of `OctopusServerInstallationHistory` (Node, Version, Installed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub node: String,
    pub version: String,
    /// Milliseconds since the Unix epoch.
    pub installed: u64,
}

/// The licence key and how far it covers releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    pub text: String,
    /// `MaximumAvailableVersionCoveredByLicense`.
    pub max_version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRow {
    pub drain: bool,
}

/// A server task: in `state` until `until` (ms since the epoch), then `Success`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    /// `Executing`, `Cancelling`, `Queued` or `Canceled`.
    pub state: String,
    pub until: u64,
}

impl Task {
    /// The task's state now.
    pub fn state_now(&self) -> &str {
        match self.state.as_str() {
            "Executing" | "Cancelling" | "Queued" if now_ms() >= self.until => "Success",
            other => other,
        }
    }
}

/// An instance's configuration (what `OctopusServer.config` holds).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// The server node's name in the cluster.
    pub node: String,
    /// The HTTP port, on 127.0.0.1.
    pub port: u16,
    /// The database's name on the (one) SQL Server.
    pub database: String,
    pub master_key: String,
}

/// What the MSI installed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Installed {
    pub version: String,
}

/// The watchdog scheduled task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watchdog {
    /// `--instances` as given (`*` for all).
    pub instances: String,
    /// Minutes.
    pub interval: u32,
}

/// One call of a stand-in program, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The machine (or `sql`) it ran on.
    pub who: String,
    /// `Octopus.Server`, `sqlcmd`, `msiexec`, or `api` for a request that
    /// changes something (method, path and body as args; never headers).
    pub program: String,
    pub args: Vec<String>,
}

/// A world's folder and the paths in it.
#[derive(Debug, Clone)]
pub struct World {
    pub dir: PathBuf,
}

impl World {
    /// The world holding `path`: the nearest folder above it with the marker.
    pub fn find(path: &Path) -> Result<World, String> {
        path.ancestors()
            .find(|d| d.join(MARKER).is_file())
            .map(|d| World {
                dir: d.to_path_buf(),
            })
            .ok_or_else(|| format!("{} is not inside an Octopus stand-in world", path.display()))
    }

    pub fn settings(&self) -> Result<Settings, String> {
        read_json(&self.dir.join(MARKER))
    }

    pub fn database_file(&self, name: &str) -> PathBuf {
        self.dir.join("sql").join(format!("{name}.json"))
    }

    pub fn machines(&self) -> PathBuf {
        self.dir.join("machines")
    }

    /// Whether the fault switch `name` is on.
    pub fn faulty(&self, name: &str) -> bool {
        self.dir.join("faults").join(name).exists()
    }

    /// Appends one call to the call log (one `write`, so concurrent
    /// processes do not interleave within a line).
    pub fn log(&self, who: &str, program: &str, args: &[String]) {
        let call = Call {
            who: who.into(),
            program: program.into(),
            args: args.to_vec(),
        };
        let mut line = serde_json::to_string(&call).expect("a call serializes");
        line.push('\n');
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("calls.log"));
        if let Ok(mut file) = file {
            let _ = file.write_all(line.as_bytes());
        }
    }

    /// Every instance of every machine: (machine folder, instance name).
    pub fn instances(&self) -> Vec<(MachineDir, String)> {
        let mut out = Vec::new();
        for machine in read_dir(&self.machines()) {
            let machine = MachineDir(machine);
            for file in read_dir(&machine.0.join("instances")) {
                if let Some(name) = file.file_stem().and_then(|s| s.to_str()) {
                    out.push((machine.clone(), name.to_string()));
                }
            }
        }
        out
    }

    /// The running instances that use database `name`: their node names.
    pub fn running_on(&self, database: &str) -> Vec<String> {
        self.instances()
            .into_iter()
            .filter(|(m, i)| m.running(i).is_some())
            .filter_map(|(m, i)| m.instance(&i).ok())
            .filter(|cfg| cfg.database == database)
            .map(|cfg| cfg.node)
            .collect()
    }
}

/// One machine's folder.
#[derive(Debug, Clone)]
pub struct MachineDir(pub PathBuf);

impl MachineDir {
    /// The machine holding the install location `location` (`<m>/Octopus`).
    pub fn of_location(location: &Path) -> MachineDir {
        MachineDir(location.parent().unwrap_or(location).to_path_buf())
    }

    pub fn name(&self) -> String {
        self.0
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn location(&self) -> PathBuf {
        self.0.join("Octopus")
    }

    pub fn installed(&self) -> Result<Installed, String> {
        read_json(&self.location().join("installed.json"))
    }

    pub fn instance_file(&self, name: &str) -> PathBuf {
        self.0.join("instances").join(format!("{name}.json"))
    }

    pub fn instance(&self, name: &str) -> Result<InstanceConfig, String> {
        read_json(&self.instance_file(name))
            .map_err(|e| format!("there is no instance {name} on this machine ({e})"))
    }

    pub fn pidfile(&self, name: &str) -> PathBuf {
        self.0.join("run").join(format!("{name}.pid"))
    }

    pub fn log_file(&self, name: &str) -> PathBuf {
        self.0.join("logs").join(format!("{name}.log"))
    }

    pub fn watchdog_file(&self) -> PathBuf {
        self.0.join("watchdog.json")
    }

    /// The pid of instance `name`'s server, if it runs.
    pub fn running(&self, name: &str) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.pidfile(name))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        alive(pid).then_some(pid)
    }
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// The files in `dir`, sorted; none if it does not exist.
fn read_dir(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not valid: {e}", path.display()))
}

/// Writes `value` as JSON to `path` through a temporary file and a rename.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
