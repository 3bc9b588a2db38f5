//! Shared helpers: an instance with installed releases (its data in SQLite or
//! in a PostgreSQL database of the test cluster), commands with a deadline, a
//! server guard that kills its process on drop, HTTP calls, and waiting on a
//! condition with a deadline.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sample_server::config::Licence;
use sample_server::db::{Db, Source};
use sample_server::instance::{self, Instance};
use sample_server::manifest::{Break, Manifest};
use sample_server::package::{package_release, unpack_release};
use serde_json::Value;
use tempfile::TempDir;

/// How long any single wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The binary cargo built for these tests.
pub fn server_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sample-server"))
}

/// A temporary server root: an instance plus installed release versions.
pub struct Root {
    pub dir: TempDir,
    pub instance: Instance,
    /// The instance's PostgreSQL database, dropped after the root's files.
    _pg: Option<crate::pg::TestDb>,
}

impl Root {
    /// An instance keeping its data in SQLite.
    pub fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        let licence = Licence {
            licensee: "Acme".into(),
            upgrades_until: "2027-06-30".into(),
        };
        let instance =
            instance::create(&dir.path().join("instance"), "127.0.0.1:0", &licence).unwrap();
        Root {
            dir,
            instance,
            _pg: None,
        }
    }

    /// An instance keeping its data in a new database of the test cluster.
    pub fn postgres() -> Root {
        let pg = crate::pg::TestDb::new();
        let mut root = Root::new();
        root.instance
            .edit_config(|c| {
                c.database = None;
                c.postgres = Some(pg.conn.clone());
            })
            .unwrap();
        root._pg = Some(pg);
        root
    }

    /// Packages a release, unpacks it into `versions/<v>` and returns its binary.
    pub fn install(&self, version: &str, schema: u32, brk: Option<Break>) -> PathBuf {
        let manifest = Manifest {
            brk,
            ..Manifest::new(version, schema)
        };
        let archive =
            package_release(&server_bin(), &manifest, &self.dir.path().join("packages")).unwrap();
        let dest = self.dir.path().join("versions").join(version);
        let bin = unpack_release(&archive, &dest).unwrap();
        assert!(bin.is_file());
        bin
    }

    pub fn config(&self) -> &Path {
        &self.instance.config_path
    }

    pub fn source(&self) -> Source {
        self.instance.config.source().unwrap()
    }

    /// A read-only connection for inspecting the data directly.
    pub fn db(&self) -> Db {
        Db::open_read_only(&self.source()).unwrap()
    }

    /// Runs `bin <command> --config <config> <extra>` to completion.
    pub fn run(&self, bin: &Path, command: &str, extra: &[&str]) -> Output {
        let mut cmd = Command::new(bin);
        cmd.arg(command)
            .arg("--config")
            .arg(self.config())
            .args(extra);
        run_with_deadline(cmd)
    }

    pub fn seed(&self, bin: &Path, projects: u32, secrets: u32) {
        let out = self.run(
            bin,
            "seed",
            &[
                "--projects",
                &projects.to_string(),
                "--secrets",
                &secrets.to_string(),
            ],
        );
        assert!(out.status.success(), "seed failed: {}", out.stderr);
    }

    pub fn serve(&self, bin: &Path) -> Server {
        Server::start(bin, self.config()).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn snapshot(&self) -> sample_server::data::Snapshot {
        sample_server::data::Snapshot::read_source(&self.source(), &self.instance.master_key)
            .unwrap()
    }
}

/// A finished process.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// Spawns `cmd` with no stdin, retrying while the kernel answers "text file
/// busy": tests run in parallel threads, and a child forked by another test
/// may briefly hold the write handle of a binary that was just unpacked.
fn spawn(cmd: &mut Command) -> Child {
    const ETXTBSY: i32 = 26;
    let start = Instant::now();
    loop {
        match cmd.stdin(Stdio::null()).spawn() {
            Ok(child) => return child,
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && start.elapsed() < DEADLINE => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("spawning {cmd:?}: {e}"),
        }
    }
}

/// Runs a command, killing it and failing the test if it outlives [`DEADLINE`].
pub fn run_with_deadline(mut cmd: Command) -> Output {
    let mut child = spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts `serve` and waits for its "listening on" line.
    pub fn start(bin: &Path, config: &Path) -> Result<Server, String> {
        Self::start_within(bin, config, DEADLINE)
    }

    /// Like [`Server::start`], failing if no "listening" line comes within `wait`.
    pub fn start_within(bin: &Path, config: &Path, wait: Duration) -> Result<Server, String> {
        let mut child = spawn(
            Command::new(bin)
                .arg("serve")
                .arg("--config")
                .arg(config)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
        let stdout = child.stdout.take().unwrap();
        let mut server = Server {
            child,
            base: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let line = rx.recv_timeout(wait).map_err(|_| {
            format!(
                "no listening line within {wait:?} (exit: {:?})",
                server.child.try_wait()
            )
        })?;
        let rest = line
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("unexpected first line {line:?}"))?;
        let addr = rest.split(' ').next().unwrap();
        server.base = format!("http://{addr}");
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .into()
}

fn reply(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_json::<Value>().unwrap();
    (status, body)
}

pub fn get(url: &str) -> (u16, Value) {
    reply(agent().get(url).call())
}

pub fn put(url: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = agent().put(url);
    if let Some(key) = key {
        req = req.header("X-Api-Key", key);
    }
    reply(req.send_json(body))
}

pub fn post(url: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = agent().post(url);
    if let Some(key) = key {
        req = req.header("X-Api-Key", key);
    }
    reply(req.send_json(body))
}

/// Polls `cond` until it holds, failing the test after [`DEADLINE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
