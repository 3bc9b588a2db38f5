//! A throwaway MariaDB server for tests.
//!
//! `MariaDb::start()` gives a handle on a real server of its own: a data
//! folder made by `mariadb-install-db` in a temporary folder, and `mariadbd`
//! listening on 127.0.0.1 only, on a free port, with its socket in that
//! folder (as root it runs with `--user=root`). No option file is read
//! (`--no-defaults`), so the machine's own MariaDB settings play no part.
//! Its `root` logs in through the socket without a password (the tests'
//! administrator); the application user `app` logs in over TCP with a
//! random password, so password handling is tested for real. Durability is
//! switched off: it is a test server.
//!
//! The tests of one process share one server: handles are reference
//! counted, and the server is killed and its folder removed when the last
//! handle drops. Each test uses a database of its own name.

use crate::local::{check, free_port, is_root, random_password};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// The server currently shared by this process's tests.
static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());

/// The application user every test database is granted to.
const APP_USER: &str = "app";

/// A handle on a MariaDB server for tests.
#[derive(Debug, Clone)]
pub struct MariaDb {
    server: Arc<Server>,
}

/// A running server and the folder holding it.
#[derive(Debug)]
struct Server {
    child: Child,
    port: u16,
    password: String,
    dir: tempfile::TempDir,
}

impl MariaDb {
    /// The shared server, started if no test holds it now.
    pub fn start() -> MariaDb {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return MariaDb { server };
        }
        let server = Arc::new(Server::own());
        *shared = Arc::downgrade(&server);
        MariaDb { server }
    }

    /// The TCP port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The application user's name.
    pub fn user(&self) -> &str {
        APP_USER
    }

    /// The application user's password.
    pub fn password(&self) -> &str {
        &self.server.password
    }

    /// `mariadb` as root through the socket, on database `db`: an argv.
    pub fn root_client(&self, db: &str) -> Vec<String> {
        root_client(&self.server.socket(), db)
    }

    /// Creates database `name` (dropped first if it exists), grants it and
    /// a scratch database `<name>_verify` to the application user, and
    /// seeds table `projects` with `rows` rows.
    pub fn create_database(&self, name: &str, rows: usize) {
        let values: Vec<String> = (1..=rows)
            .map(|i| format!("({i}, 'project-{i}')"))
            .collect();
        self.sql(
            "mysql",
            &format!(
                "DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`; \
                 GRANT ALL ON `{name}`.* TO '{APP_USER}'@'127.0.0.1'; \
                 GRANT ALL ON `{scratch}`.* TO '{APP_USER}'@'127.0.0.1';",
                scratch = format!("{name}_verify").replace('_', "\\_")
            ),
        );
        self.sql(
            name,
            "CREATE TABLE projects (id INT PRIMARY KEY AUTO_INCREMENT, \
             name VARCHAR(100) NOT NULL)",
        );
        if !values.is_empty() {
            self.sql(
                name,
                &format!(
                    "INSERT INTO projects (id, name) VALUES {}",
                    values.join(", ")
                ),
            );
        }
    }

    /// Runs `sql` as root on `db`; returns what it printed (tab-separated,
    /// no column names).
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let out = root_sql(&self.server.socket(), db, sql).expect("run mariadb");
        check(&out, &format!("mariadb -e {sql:?} on {db}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every table's definition and every row of `db` (a dump without
    /// dates, rows in key order): equal exactly when the content is.
    pub fn content(&self, db: &str) -> String {
        let out = Command::new("mariadb-dump")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.server.socket().display()))
            .args(["--user=root", "--skip-dump-date", "--skip-comments"])
            .args(["--order-by-primary", "--single-transaction", db])
            .stdin(Stdio::null())
            .output()
            .expect("run mariadb-dump");
        check(&out, &format!("mariadb-dump {db}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Server {
    /// A new server of our own, started and accepting connections.
    fn own() -> Server {
        let mariadbd = server_binary();
        let dir = tempfile::Builder::new()
            .prefix("upshift-mariadb-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(user_args());
        let out = install.output().unwrap_or_else(|e| {
            panic!("cannot run mariadb-install-db ({e}): `.ci/run` installs mariadb-server")
        });
        check(&out, "mariadb-install-db");
        let password = random_password();
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = dir.path().join("server.log");
            let mut child = Command::new(&mariadbd)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", dir.path().join("sock").display()))
                .arg(format!("--pid-file={}", dir.path().join("pid").display()))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--port={port}"))
                .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
                .args(["--skip-log-bin", "--innodb-buffer-pool-size=32M"])
                .args([
                    "--innodb-log-file-size=16M",
                    "--innodb-flush-log-at-trx-commit=0",
                ])
                .args(["--innodb-doublewrite=0", "--max-connections=60"])
                .args(user_args())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start mariadbd");
            let socket = dir.path().join("sock");
            if wait_ready(&mut child, &socket) {
                let create_user =
                    format!("CREATE USER '{APP_USER}'@'127.0.0.1' IDENTIFIED BY '{password}'");
                let server = Server {
                    child,
                    port,
                    password,
                    dir,
                };
                let out = root_sql(&socket, "mysql", &create_user).expect("run mariadb");
                check(&out, "CREATE USER");
                return server;
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("test MariaDB did not start: {last}");
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("sock")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mariadbd`: on PATH, else in `/usr/sbin` (Debian's place, often not on
/// a user's PATH).
fn server_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("mariadbd"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/mariadbd")).filter(|p| p.is_file()))
        .expect(
            "mariadbd not found (PATH, /usr/sbin): the MariaDB tests need a real server; \
             install Debian's `mariadb-server` package, as `.ci/run` does",
        )
}

/// `mariadb` as root through `socket`, on database `db`: an argv.
fn root_client(socket: &Path, db: &str) -> Vec<String> {
    vec![
        "mariadb".into(),
        "--no-defaults".into(),
        format!("--socket={}", socket.display()),
        "--user=root".into(),
        db.into(),
    ]
}

/// Runs `sql` as root through `socket` on `db` (batch, no column names).
fn root_sql(socket: &Path, db: &str, sql: &str) -> std::io::Result<std::process::Output> {
    let argv = root_client(socket, db);
    Command::new(&argv[0])
        .args(&argv[1..])
        .args(["--batch", "--skip-column-names", "-e", sql])
        .stdin(Stdio::null())
        .output()
}

/// `--user=root` when we are root (mariadbd refuses root otherwise).
fn user_args() -> Vec<&'static str> {
    match is_root() {
        true => vec!["--user=root"],
        false => vec![],
    }
}

/// Polls until root can log in through `socket`, for at most 30 s; false
/// if the server exited first (its port was taken, for example) or did not
/// answer in time.
fn wait_ready(child: &mut Child, socket: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        if root_sql(socket, "mysql", "SELECT 1").is_ok_and(|o| o.status.success()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
