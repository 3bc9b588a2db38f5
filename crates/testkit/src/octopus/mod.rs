//! A stand-in for Octopus Deploy Server, for tests: Octopus itself (Windows,
//! SQL Server) cannot run here. Written from Octopus' public documentation
//! (the REST API reference, the `Octopus.Server.exe` command line pages, the
//! upgrade guides) and Microsoft's (sqlcmd, T-SQL BACKUP/RESTORE, msiexec),
//! it behaves only as far as those documents say, and each file names what
//! it had to choose where they are silent.
//!
//! One binary, `octopus-standin`, plays three programs by the name it is
//! invoked as (links are made for it): `Octopus.Server` ([`server`]) with
//! the server's HTTP API ([`api`]), `sqlcmd` ([`sqlcmd`]) and `msiexec`
//! ([`msiexec`]). Their state is files in one folder ([`files`]); every
//! call is logged there, so a test can check the order of calls.
//! [`write_feed`] writes a copy of Octopus' version feed with stand-in MSIs.
//!
//! A test builds the scene with [`StandIn`]: a SQL Server database, one or
//! more machines with Octopus installed, one instance per machine, fault
//! switches. Dropping the [`StandIn`] kills every server it still runs (so
//! drop it before its folder).

mod api;
mod feed;
pub mod files;
mod msiexec;
mod server;
mod sqlcmd;

pub use feed::{write_feed, ARTIFACT_PATH, FEED_PATH};
pub use files::{Call, Database, HistoryRow, Licence, Task, Watchdog};

use files::{
    read_json, sha256_hex, write_json, Installed, InstanceConfig, MachineDir, Settings, World,
    MARKER,
};
use std::path::{Path, PathBuf};

/// The binary's name in `target/<profile>/`.
pub const BINARY: &str = "octopus-standin";

/// The binary's entry point: plays the program `argv[0]` names.
pub fn main() -> i32 {
    let mut args = std::env::args();
    let argv0 = PathBuf::from(args.next().unwrap_or_default());
    let argv0 = resolve(&argv0);
    let args: Vec<String> = args.collect();
    let name = argv0
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match name.trim_end_matches(".exe") {
        "octopus.server" => server::main(&argv0, &args),
        "sqlcmd" => sqlcmd::main(&argv0, &args),
        "msiexec" => msiexec::main(&argv0, &args),
        _ => {
            eprintln!("{BINARY}: invoke me as Octopus.Server, sqlcmd or msiexec (a link)");
            2
        }
    }
}

/// `argv0` as a path: looked up in PATH when it is a bare name.
fn resolve(argv0: &Path) -> PathBuf {
    if argv0.components().count() > 1 {
        return argv0.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(argv0))
        .find(|p| p.exists())
        .unwrap_or_else(|| argv0.to_path_buf())
}

/// What a new stand-in database holds.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The schema's version (the installed Octopus version).
    pub version: String,
    /// The API key the server accepts (kept hashed).
    pub api_key: String,
    pub licence_text: String,
    /// `MaximumAvailableVersionCoveredByLicense`.
    pub licence_max: String,
    pub projects: u32,
}

/// A stand-in world in a folder: build the scene, look at it, switch faults.
#[derive(Debug)]
pub struct StandIn {
    world: World,
    binary: PathBuf,
}

impl StandIn {
    /// The stand-in binary: `OCTOPUS_STANDIN_BIN`, or beside the running
    /// test executable (`cargo build -p testkit` builds it).
    pub fn locate_binary() -> PathBuf {
        if let Some(path) = std::env::var_os("OCTOPUS_STANDIN_BIN") {
            return PathBuf::from(path);
        }
        let exe = std::env::current_exe().expect("the running executable");
        exe.ancestors()
            .skip(1)
            .take(2)
            .map(|d| d.join(BINARY))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!("{BINARY} is not built: run `cargo build -p testkit`, or set OCTOPUS_STANDIN_BIN")
            })
    }

    /// Makes a world in `dir` (which must exist) played by `binary`.
    pub fn create(dir: &Path, binary: &Path) -> StandIn {
        let world = World {
            dir: dir.to_path_buf(),
        };
        write_json(&dir.join(MARKER), &Settings::default()).expect("write the marker");
        for sub in ["faults", "sql", "machines", "bin"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create the world");
        }
        let binary = std::fs::canonicalize(binary).expect("the stand-in binary");
        for program in ["sqlcmd", "msiexec"] {
            std::os::unix::fs::symlink(&binary, dir.join("bin").join(program)).expect("link");
        }
        StandIn { world, binary }
    }

    pub fn dir(&self) -> &Path {
        &self.world.dir
    }

    /// The folder holding `sqlcmd` and `msiexec` (to put in PATH).
    pub fn bin_dir(&self) -> PathBuf {
        self.world.dir.join("bin")
    }

    pub fn sqlcmd(&self) -> PathBuf {
        self.bin_dir().join("sqlcmd")
    }

    pub fn msiexec(&self) -> PathBuf {
        self.bin_dir().join("msiexec")
    }

    /// Adds a SQL login (`sqlcmd -U user`, password in `SQLCMDPASSWORD`).
    pub fn sql_login(&self, user: &str, password: &str) {
        let mut settings: Settings = self.world.settings().expect("the marker");
        settings
            .sql_logins
            .insert(user.into(), sha256_hex(password.as_bytes()));
        write_json(&self.world.dir.join(MARKER), &settings).expect("write the marker");
    }

    /// Creates database `name` on the SQL Server.
    pub fn create_database(&self, name: &str, seed: &Seed) {
        let db = Database {
            schema_version: seed.version.clone(),
            installation_history: vec![HistoryRow {
                node: "setup".into(),
                version: seed.version.clone(),
                installed: files::now_ms(),
            }],
            maintenance: false,
            licence: Licence {
                text: seed.licence_text.clone(),
                max_version: seed.licence_max.clone(),
            },
            api_keys_sha256: vec![sha256_hex(seed.api_key.as_bytes())],
            nodes: Default::default(),
            tasks: Vec::new(),
            projects: seed.projects,
        };
        self.set_database(name, &db);
    }

    /// Database `name` as it is now.
    pub fn database(&self, name: &str) -> Database {
        read_json(&self.world.database_file(name)).expect("the database")
    }

    /// Replaces database `name` (to add tasks, say).
    pub fn set_database(&self, name: &str, db: &Database) {
        write_json(&self.world.database_file(name), db).expect("write the database");
    }

    /// A machine with Octopus `version` installed in `<machine>/Octopus`.
    pub fn machine(&self, name: &str, version: &str) -> Machine {
        let dir = MachineDir(self.world.machines().join(name));
        let location = dir.location();
        std::fs::create_dir_all(&location).expect("create the machine");
        std::os::unix::fs::symlink(&self.binary, location.join("Octopus.Server"))
            .expect("link Octopus.Server");
        let installed = Installed {
            version: version.into(),
        };
        write_json(&location.join("installed.json"), &installed).expect("install");
        Machine { dir }
    }

    /// Turns fault switch `name` on or off (each program's docs list its own).
    pub fn set_fault(&self, name: &str, on: bool) {
        let path = self.world.dir.join("faults").join(name);
        if on {
            std::fs::write(path, "").expect("set the fault");
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        std::fs::read_to_string(self.world.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a logged call"))
            .collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        for (machine, instance) in self.world.instances() {
            if let Some(pid) = machine.running(&instance) {
                let pid = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

/// A stand-in machine (a Windows host with Octopus installed).
#[derive(Debug, Clone)]
pub struct Machine {
    dir: MachineDir,
}

impl Machine {
    pub fn name(&self) -> String {
        self.dir.name()
    }

    /// `Octopus.Server` in the install location.
    pub fn octopus_server(&self) -> PathBuf {
        self.install_location().join("Octopus.Server")
    }

    /// The install location (`INSTALLLOCATION` for msiexec).
    pub fn install_location(&self) -> PathBuf {
        self.dir.location()
    }

    /// The version the MSI installed.
    pub fn installed_version(&self) -> String {
        self.dir.installed().expect("installed.json").version
    }

    /// Registers instance `name` (node `node`, database `database`) on a
    /// free port.
    pub fn add_instance(
        &self,
        name: &str,
        node: &str,
        database: &str,
        master_key: &str,
    ) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cfg = InstanceConfig {
            node: node.into(),
            port,
            database: database.into(),
            master_key: master_key.into(),
        };
        write_json(&self.dir.instance_file(name), &cfg).expect("write the instance");
        Instance {
            machine: self.clone(),
            name: name.into(),
            port,
        }
    }

    /// The watchdog task, if there is one.
    pub fn watchdog(&self) -> Option<Watchdog> {
        read_json(&self.dir.watchdog_file()).ok()
    }
}

/// An Octopus Server instance on a stand-in machine.
#[derive(Debug, Clone)]
pub struct Instance {
    machine: Machine,
    pub name: String,
    pub port: u16,
}

impl Instance {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether its server runs.
    pub fn is_running(&self) -> bool {
        self.machine.dir.running(&self.name).is_some()
    }

    /// The server's own log (what it printed).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.machine.dir.log_file(&self.name)).unwrap_or_default()
    }
}
