//! A throwaway PostgreSQL cluster for these tests, and one new database per
//! test in it.
//!
//! The sample server cannot use testkit's cluster (testkit depends on the
//! sample server), so this is the minimal version: `initdb` into a temp
//! folder with trust authentication, listening only on 127.0.0.1 at a free
//! port with its socket in the same folder, `pg_ctl -w start`, and
//! `pg_ctl stop -m immediate` when the last test using it drops it. As root,
//! the cluster runs as the `postgres` system user (PostgreSQL refuses root).
//! `UPSHIFT_TEST_PG="host=.. port=.. user=.."` uses that server instead.
//!
//! Tests share the cluster through a `Weak`: it lives while any test holds
//! it, and is started again if a later test finds it gone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::DEADLINE;

static CLUSTER: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// A running server: its connection string without `dbname`, and, when this
/// process started it, what is needed to stop it.
struct Cluster {
    base: String,
    owned: Option<Owned>,
}

struct Owned {
    pg_ctl: PathBuf,
    data: PathBuf,
    _dir: TempDir,
}

impl Cluster {
    fn shared() -> Arc<Cluster> {
        let mut slot = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cluster) = slot.upgrade() {
            return cluster;
        }
        let cluster = Arc::new(match std::env::var("UPSHIFT_TEST_PG") {
            Ok(base) => Cluster { base, owned: None },
            Err(_) => Cluster::start(),
        });
        *slot = Arc::downgrade(&cluster);
        cluster
    }

    fn start() -> Cluster {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("sample-pg-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        if is_root() {
            let (uid, gid) = (id("-u"), id("-g"));
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        as_postgres(&[
            bin.join("initdb").as_os_str(),
            "-D".as_ref(),
            data.as_os_str(),
            "-U".as_ref(),
            "postgres".as_ref(),
            "-A".as_ref(),
            "trust".as_ref(),
            "-E".as_ref(),
            "UTF8".as_ref(),
            "--locale=C".as_ref(),
            "--no-sync".as_ref(),
        ])
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c full_page_writes=off",
            dir.path().display()
        );
        let pg_ctl = bin.join("pg_ctl");
        as_postgres(&[
            pg_ctl.as_os_str(),
            "-D".as_ref(),
            data.as_os_str(),
            "-l".as_ref(),
            dir.path().join("log").as_os_str(),
            "-w".as_ref(),
            "-t".as_ref(),
            DEADLINE.as_secs().to_string().as_ref(),
            "-o".as_ref(),
            settings.as_ref(),
            "start".as_ref(),
        ])
        .unwrap();
        let cluster = Cluster {
            base: format!("host=127.0.0.1 port={port} user=postgres"),
            owned: Some(Owned {
                pg_ctl,
                data,
                _dir: dir,
            }),
        };
        cluster.wait_ready();
        cluster
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        loop {
            match self.admin() {
                Ok(_) => return,
                Err(e) if start.elapsed() > DEADLINE => {
                    panic!("PostgreSQL at {} not ready: {e}", self.base)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn admin(&self) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(
            &format!("{} dbname=postgres connect_timeout=5", self.base),
            postgres::NoTls,
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(owned) = &self.owned {
            // Never panic in drop (it may run while a failed test unwinds).
            let _ = as_postgres(&[
                owned.pg_ctl.as_os_str(),
                "-D".as_ref(),
                owned.data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ]);
        }
    }
}

/// A new, empty database of the shared cluster, dropped with its sessions
/// when the test ends.
pub struct TestDb {
    cluster: Arc<Cluster>,
    name: String,
    /// Its connection string.
    pub conn: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let cluster = Cluster::shared();
        let name = format!(
            "sample_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        cluster
            .admin()
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        TestDb {
            conn: format!("{} dbname={name}", cluster.base),
            cluster,
            name,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: a throwaway cluster goes away with everything in it.
        if let Ok(mut admin) = self.cluster.admin() {
            let _ = admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        }
    }
}

/// The newest installed PostgreSQL's programs (`PG_BINDIR` overrides).
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return dir.into();
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed in /usr/lib/postgresql (or set PG_BINDIR or UPSHIFT_TEST_PG)")
        .filter_map(|e| {
            let e = e.ok()?;
            let major = e.file_name().to_str()?.parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    found.sort();
    found
        .pop()
        .expect("no initdb under /usr/lib/postgresql/*/bin")
        .1
}

fn is_root() -> bool {
    id_output(&["-u"]) == "0"
}

fn id(flag: &str) -> u32 {
    id_output(&[flag, "postgres"])
        .parse()
        .expect("numeric id of the postgres user")
}

fn id_output(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().unwrap();
    assert!(out.status.success(), "id {args:?} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs a PostgreSQL program to completion, as the `postgres` user when we
/// are root; the error holds its output.
fn as_postgres(argv: &[&std::ffi::OsStr]) -> Result<(), String> {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(argv);
        c
    } else {
        let mut c = Command::new(argv[0]);
        c.args(&argv[1..]);
        c
    };
    let out = cmd
        .current_dir(Path::new("/"))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{argv:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{argv:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
