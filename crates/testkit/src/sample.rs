//! A sample installation in a temporary folder, started through upshift's
//! own service driver, and always stopped when the test ends.

use crate::PgCluster;
use age::secrecy::ExposeSecret;
use sample_server::crypto::MasterKey;
use sample_server::data::Snapshot;
use sample_server::fixture::{self, Fixture, Options};
use std::path::{Path, PathBuf};
use upshift::engine::instance::Instance;

/// A sample installation for one test.
#[derive(Debug)]
pub struct Sample {
    pub fx: Fixture,
    _stop: Vec<StopGuard>,
    _dir: tempfile::TempDir,
}

impl Sample {
    /// Lays out an installation with `options` (not started). Its key
    /// bundle is encrypted to an X25519 recipient (fast), not with the
    /// fixture's passphrase (scrypt, about a second per use).
    pub fn new(options: &Options) -> Sample {
        let sample = Sample::with_passphrase(options);
        let identity = age::x25519::Identity::generate();
        let identity_file = sample.fx.dir.join("secrets/identity");
        std::fs::write(&identity_file, identity.to_string().expose_secret())
            .expect("write identity");
        let text = std::fs::read_to_string(&sample.fx.instance_file).expect("instance file");
        let keys = format!(
            "recipients = [\"{}\"]\nidentity = {{ file = \"secrets/identity\" }}",
            identity.to_public()
        );
        let fast = text.replace("passphrase = { file = \"secrets/bundle.pass\" }", &keys);
        assert_ne!(fast, text, "the fixture's [keys] section changed shape");
        std::fs::write(&sample.fx.instance_file, fast).expect("instance file");
        sample
    }

    /// Lays out an installation whose data lives in a new database `db` of
    /// the shared test PostgreSQL cluster, backed up with `strategy`. The
    /// server and upshift log in as the cluster's superuser, with the
    /// password in a file that both name.
    pub fn postgres(cluster: &PgCluster, db: &str, strategy: &str, options: &Options) -> Sample {
        cluster.create_database(db, None);
        let conn = format!(
            "host={} port={} user={} dbname={db}",
            cluster.host(),
            cluster.port(),
            cluster.superuser()
        );
        Sample::new(&Options {
            postgres: Some(conn),
            pg_strategy: strategy.into(),
            pg_password_file: Some(cluster.password_file().to_path_buf()),
            ..options.clone()
        })
    }

    /// Lays out an installation whose key bundle uses the passphrase.
    pub fn with_passphrase(options: &Options) -> Sample {
        let dir = tempfile::Builder::new()
            .prefix("upshift-it-")
            .tempdir()
            .expect("temp dir");
        let bin = sample_server::package::locate_server_binary().expect("sample-server binary");
        let fx = fixture::create(dir.path(), &bin, options).expect("sample fixture");
        let pidfiles = std::iter::once(fx.dir.join("run/server.pid"))
            .chain(fx.nodes.iter().map(|n| n.pidfile.clone()));
        Sample {
            _stop: pidfiles.map(StopGuard).collect(),
            fx,
            _dir: dir,
        }
    }

    /// The default installation, started.
    pub fn started() -> Sample {
        let sample = Sample::new(&Options::default());
        sample.start();
        sample
    }

    /// The instance as upshift sees it.
    pub fn instance(&self) -> Instance {
        Instance::open(&self.fx.instance_file, None).expect("instance file loads")
    }

    /// Starts the server (every node of a cluster) with upshift's own
    /// service drivers.
    pub fn start(&self) {
        let inst = self.instance();
        let current = inst.current_version().expect("current version");
        for node in &inst.nodes {
            node.start(&current).expect("sample server starts");
        }
    }

    /// `upshift -c <instance file> ...`, with stdin closed.
    pub fn upshift(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("upshift").expect("upshift binary");
        cmd.arg("-c").arg(&self.fx.instance_file).write_stdin("");
        cmd
    }

    /// Runs `upshift <args>` and asserts its exit code, showing its output
    /// when it is not `code`.
    pub fn run(&self, args: &[&str], code: i32) -> std::process::Output {
        self.run_with(args, &[], code)
    }

    /// [`Sample::run`] with `env` added to upshift's environment.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)], code: i32) -> std::process::Output {
        let out = self
            .upshift()
            .envs(env.iter().copied())
            .args(args)
            .output()
            .expect("run upshift");
        assert_eq!(
            out.status.code(),
            Some(code),
            "upshift {args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The folder of the installation.
    pub fn dir(&self) -> &Path {
        &self.fx.dir
    }

    /// The state folder upshift uses for it.
    pub fn state_dir(&self) -> PathBuf {
        self.fx.dir.join(".upshift")
    }

    /// Every project and every decrypted secret.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::read_source(&self.fx.source, &self.fx.master_key).expect("read sample data")
    }

    /// The master key the data is encrypted with.
    pub fn master_key(&self) -> &MasterKey {
        &self.fx.master_key
    }

    /// GET a path of the running server (a cluster's first node) as JSON.
    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        Sample::get_at(&self.fx.base_url, path)
    }

    /// GET a path of the server at `base` (one node of a cluster) as JSON.
    pub fn get_at(base: &str, path: &str) -> (u16, serde_json::Value) {
        let client = upshift::drivers::http::Client::new(std::time::Duration::from_secs(10));
        let answer = client
            .get(&format!("{base}{path}"), &[])
            .expect("server answers");
        (
            answer.status,
            serde_json::from_slice(&answer.body).unwrap_or_default(),
        )
    }
}

/// Kills the server named by a pidfile when dropped, so no test leaves a
/// server running, whatever it asserted or did to the instance file. The
/// pidfile holds "<pid> <starttime>"; the start time is compared with
/// /proc so a reused pid is never killed.
#[derive(Debug)]
pub struct StopGuard(pub PathBuf);

impl Drop for StopGuard {
    fn drop(&mut self) {
        let Ok(text) = std::fs::read_to_string(&self.0) else {
            return;
        };
        let mut fields = text.split_whitespace();
        let (Some(pid), Some(start)) = (fields.next(), fields.next()) else {
            return;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        if after_name.split_whitespace().nth(19) == Some(start) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", pid])
                .status();
        }
    }
}
