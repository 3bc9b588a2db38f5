//! A throwaway PostgreSQL cluster for tests.
//!
//! `PgCluster::start()` gives a handle on a real server: the one named by
//! `UPSHIFT_TEST_PG` (a `host=.. port=.. user=.. password=..` string or a
//! URL) if set, else a cluster of its own, made with `initdb` in a temporary
//! folder and listening on 127.0.0.1 only, on a free port, with its socket
//! in that folder. As root the server runs as the `postgres` system user
//! (PostgreSQL refuses to run as root). Local connections are trusted; TCP
//! connections need a password (scram-sha-256), so password handling is
//! tested for real. Durability is switched off: it is a test server.
//!
//! The tests of one process share one cluster: handles are reference
//! counted, and the cluster is stopped (`pg_ctl stop -m immediate`) and
//! removed when the last handle drops, so nothing outlives the tests. Each
//! test uses databases and roles of its own names.

use crate::local::{check, free_port, is_root, random_password};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use upshift::config::{FilePath, PgStrategy, PostgresConfig};
use upshift::support::secret::SecretRef;

/// The cluster currently shared by this process's tests.
static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());

/// A handle on a PostgreSQL server for tests.
#[derive(Debug, Clone)]
pub struct PgCluster {
    server: Arc<Server>,
}

/// Where the server is, how to log in as its superuser, and what to stop.
#[derive(Debug)]
struct Server {
    host: String,
    port: u16,
    superuser: String,
    password: String,
    /// A file holding the superuser's password (for a `SecretRef`).
    password_file: PathBuf,
    own: Option<OwnCluster>,
    /// Holds `password_file` (and, for our own cluster, everything).
    _dir: tempfile::TempDir,
}

/// A cluster this process started.
#[derive(Debug)]
struct OwnCluster {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
}

impl PgCluster {
    /// The shared server, started if no test holds it now.
    pub fn start() -> PgCluster {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return PgCluster { server };
        }
        let server = Arc::new(match std::env::var("UPSHIFT_TEST_PG") {
            Ok(spec) if !spec.trim().is_empty() => Server::given(&spec),
            _ => Server::own(),
        });
        *shared = Arc::downgrade(&server);
        PgCluster { server }
    }

    /// The host tests connect to.
    pub fn host(&self) -> &str {
        &self.server.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The superuser's name.
    pub fn superuser(&self) -> &str {
        &self.server.superuser
    }

    /// A file holding the superuser's password.
    pub fn password_file(&self) -> &Path {
        &self.server.password_file
    }

    /// A libpq connection string for the superuser on database `db`.
    pub fn conn_string(&self, db: &str) -> String {
        self.server.conn_string(db)
    }

    /// A superuser connection to database `db`.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.conn_string(db), postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to test database {db}: {e}"))
    }

    /// Creates database `name` (dropped first if it exists), owned by `owner`
    /// (the superuser if `None`).
    pub fn create_database(&self, name: &str, owner: Option<&str>) {
        let mut admin = self.client("postgres");
        let name = ident(name);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop test database");
        let owner = owner
            .map(|o| format!(" OWNER {}", ident(o)))
            .unwrap_or_default();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}{owner}"))
            .expect("create test database");
    }

    /// Creates login role `name` with `password` and extra `attributes`
    /// (e.g. `"CREATEDB"`); an existing one is altered to match.
    pub fn create_role(&self, name: &str, password: &str, attributes: &str) {
        let mut admin = self.client("postgres");
        let exists = admin
            .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&name])
            .map(|r| r.get::<_, i64>(0) > 0)
            .expect("look up role");
        let verb = if exists { "ALTER" } else { "CREATE" };
        admin
            .batch_execute(&format!(
                "{verb} ROLE {} LOGIN PASSWORD {} {attributes}",
                ident(name),
                literal(password)
            ))
            .expect("create test role");
    }

    /// The instance-file section for database `db` as the superuser, with
    /// the password in a file.
    pub fn config(&self, db: &str, strategy: PgStrategy) -> PostgresConfig {
        PostgresConfig {
            host: self.server.host.clone(),
            port: self.server.port,
            user: self.server.superuser.clone(),
            dbname: db.to_string(),
            password: Some(SecretRef {
                env: None,
                file: Some(FilePath::from_path(&self.server.password_file)),
            }),
            strategy,
            jobs: 2,
            terminate_own_sessions: false,
            bin_dir: None,
        }
    }
}

impl Server {
    /// The server `UPSHIFT_TEST_PG` names.
    fn given(spec: &str) -> Server {
        let config: postgres::Config = spec
            .parse()
            .unwrap_or_else(|e| panic!("UPSHIFT_TEST_PG is not a connection string: {e}"));
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "127.0.0.1".into(),
        };
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let dir = temp_dir();
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, &password).expect("write password file");
        Server {
            host,
            port: config.get_ports().first().copied().unwrap_or(5432),
            superuser: config.get_user().unwrap_or("postgres").to_string(),
            password,
            password_file,
            own: None,
            _dir: dir,
        }
    }

    /// A new cluster of our own, started and accepting connections.
    fn own() -> Server {
        let bin = bin_dir();
        let dir = temp_dir();
        let as_postgres = is_root();
        let password = random_password();
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, &password).expect("write password file");
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path()));
        }
        let data = dir.path().join("data");
        let mut own = OwnCluster {
            bin,
            data,
            as_postgres,
        };
        own.tool("initdb")
            .arg("-D")
            .arg(&own.data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .map(|out| check(&out, "initdb"))
            .expect("run initdb");
        let port = own.start(dir.path());
        let server = Server {
            host: "127.0.0.1".into(),
            port,
            superuser: "postgres".into(),
            password,
            password_file,
            own: Some(own),
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    /// A libpq connection string for the superuser on database `db`.
    fn conn_string(&self, db: &str) -> String {
        format!(
            "host={} port={} user={} password={} dbname={db}",
            self.host, self.port, self.superuser, self.password
        )
    }

    /// Polls until the server accepts the superuser, for at most 30 s.
    fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match postgres::Client::connect(&self.conn_string("postgres"), postgres::NoTls) {
                Ok(_) => return,
                Err(e) if std::time::Instant::now() >= deadline => {
                    panic!("test PostgreSQL did not accept connections within 30 s: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl OwnCluster {
    /// A command running `name` from the cluster's bin folder, as the
    /// `postgres` user when we are root.
    fn tool(&mut self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    /// Starts the server on a free port (a few tries, in case another
    /// process takes the port first); returns the port.
    fn start(&mut self, dir: &Path) -> u16 {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                 -c max_connections=60",
                dir.display()
            );
            let out = self
                .tool("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-w", "-t", "30", "-l"])
                .arg(dir.join("server.log"))
                .args(["-o", &options, "start"])
                .output()
                .expect("run pg_ctl start");
            if out.status.success() {
                return port;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        }
        panic!("test PostgreSQL did not start: {last}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(own) = &mut self.own {
            let data = own.data.clone();
            let _ = own
                .tool("pg_ctl")
                .arg("-D")
                .arg(data)
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

/// The folder with initdb and pg_ctl: next to `initdb` on PATH, else the
/// newest `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("initdb"))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::canonicalize(p).ok())
            .and_then(|p| p.parent().map(Path::to_path_buf))
    });
    let debian = || {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<f32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb")
                    .is_file()
                    .then_some(((version * 10.0) as u32, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, p)| p)
    };
    on_path.or_else(debian).expect(
        "PostgreSQL's initdb not found (PATH, /usr/lib/postgresql/*/bin): install the \
         `postgresql` package or set UPSHIFT_TEST_PG to a server",
    )
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("upshift-pg-")
        .tempdir()
        .expect("temp dir")
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run command");
    check(&out, &format!("{cmd:?}"));
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
