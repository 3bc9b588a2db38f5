//! A whole sample installation that upshift can upgrade: a signed feed of
//! the standard releases, the first release installed the way upshift
//! expects (`server/versions/<v>` and a `server/current` link), a seeded
//! database, keys, and an `upshift.toml` that drives all of it.
//!
//! Used by `upshift demo` and by the integration tests, so both exercise the
//! same instance file. The fixture does not start the server: starting is
//! upshift's job (its process service driver).
//!
//! With [`Options::postgres`] the data lives in an existing, empty
//! PostgreSQL database instead of the SQLite file: the server config gets the
//! connection string and `upshift.toml` a `kind = "postgres"` database with
//! the host, port, user and database name taken from it. The password is
//! never written anywhere: the server and upshift read `PGPASSWORD` from
//! their environment (or the cluster trusts local connections).
//!
//! ```text
//! <dir>/upshift.toml
//! <dir>/feed/                    index.json and signed archives
//! <dir>/server/versions/<v>/     installed releases; server/current -> versions/<v>
//! <dir>/server/server.toml       the server's own config (+ data/, keys/)
//! <dir>/secrets/bundle.pass      passphrase of the key bundle (0600)
//! <dir>/run/, <dir>/logs/        pidfile and server log
//! ```
//!
//! The instance file's `[clone]` section makes `upshift clone` and
//! `upshift rehearse` work on the sample: the clone gets its own port (and,
//! on PostgreSQL, its own database) and the master key from the key bundle.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{ensure, Context, Result};

use crate::cluster::{self, Node, NodeSpec};
use crate::config::Licence;
use crate::crypto::MasterKey;
use crate::db::Source;
use crate::feed::Feed;
use crate::manifest::Break;
use crate::net::free_port;
use crate::package::unpack_release;

/// How to lay the installation out.
#[derive(Debug, Clone)]
pub struct Options {
    /// The release installed at first.
    pub version: String,
    /// Make this release fail on purpose.
    pub brk: Option<(String, Break)>,
    /// Rows to seed.
    pub projects: usize,
    /// Encrypted secrets to seed.
    pub secrets: usize,
    /// The licence covers releases published up to this date.
    pub upgrades_until: String,
    /// `migration.kind`: `command` (default) or `on-start`.
    pub migrate_on_start: bool,
    /// Keep the data in this existing, empty PostgreSQL database (libpq
    /// `key=value` connection string with `host`, `port`, `user`, `dbname`;
    /// no password) instead of a SQLite file.
    pub postgres: Option<String>,
    /// upshift's PostgreSQL backup strategy: `dump` (default) or `snapshot`.
    pub pg_strategy: String,
    /// A file holding the PostgreSQL password, named in both the server's
    /// config and the instance file (`[database] password`).
    pub pg_password_file: Option<PathBuf>,
    /// A cluster sharing the database: one entry per node (empty: a single
    /// server, without `[[nodes]]`).
    pub cluster: Vec<NodeSpec>,
    /// How remote nodes are reached: the ssh config file (`[ssh] config`)
    /// and the upshift binary copied to them (`[ssh] agent`).
    pub ssh: Option<(PathBuf, PathBuf)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version: "2026.1.0".into(),
            brk: None,
            projects: 200,
            secrets: 20,
            upgrades_until: "2026-12-31".into(),
            migrate_on_start: false,
            postgres: None,
            pg_strategy: "dump".into(),
            pg_password_file: None,
            cluster: Vec::new(),
            ssh: None,
        }
    }
}

/// A laid-out installation.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub dir: PathBuf,
    /// `<dir>/upshift.toml`.
    pub instance_file: PathBuf,
    /// The server's config file.
    pub server_config: PathBuf,
    /// The SQLite database file (nothing is there when `source` is PostgreSQL).
    pub database: PathBuf,
    /// Where the server keeps its data.
    pub source: Source,
    /// The install root (`versions/`, `current`).
    pub root: PathBuf,
    pub master_key: MasterKey,
    pub api_key: String,
    /// The key bundle's passphrase.
    pub passphrase: String,
    /// `http://127.0.0.1:<port>` (on a cluster: the first node's).
    pub base_url: String,
    pub feed: Feed,
    /// The nodes of a cluster (empty for a single server).
    pub nodes: Vec<Node>,
}

/// Lays out an installation in `dir` (which should be empty).
pub fn create(dir: &Path, server_bin: &Path, options: &Options) -> Result<Fixture> {
    let dir = std::path::absolute(dir)?;
    ensure!(
        ["dump", "snapshot"].contains(&options.pg_strategy.as_str()),
        "pg_strategy must be `dump` or `snapshot`, not {:?}",
        options.pg_strategy
    );
    let database_toml = match &options.postgres {
        Some(conn) => postgres_toml(
            conn,
            &options.pg_strategy,
            options.pg_password_file.as_deref(),
        )?,
        None => SQLITE_TOML.to_owned(),
    };
    let brk = options.brk.as_ref().map(|(v, b)| (v.as_str(), *b));
    let feed = crate::releases::build_feed(&dir.join("feed"), server_bin, brk)?;
    let root = dir.join("server");
    let port = free_port()?;
    let licence = Licence {
        licensee: "Demo Ltd".into(),
        upgrades_until: options.upgrades_until.clone(),
    };
    let mut server = crate::instance::create(&root, &format!("127.0.0.1:{port}"), &licence)?;
    let database = server
        .config
        .database
        .clone()
        .context("a new instance has a SQLite database")?;
    server.edit_config(|c| {
        c.migrate_on_start = options.migrate_on_start;
        if let Some(conn) = &options.postgres {
            c.database = None;
            c.postgres = Some(conn.clone());
            c.postgres_password_file = options.pg_password_file.clone();
        }
    })?;
    let archive = dir
        .join("feed")
        .join(crate::package::archive_name(&options.version));
    let version_dir = root.join("versions").join(&options.version);
    let binary = unpack_release(&archive, &version_dir)?;
    std::os::unix::fs::symlink(
        Path::new("versions").join(&options.version),
        root.join("current"),
    )
    .context("linking server/current")?;
    seed(&binary, &server.config_path, options)?;
    for sub in ["secrets", "run", "logs"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let nodes = cluster::plan(&dir, &options.cluster)?;
    cluster::lay_out(&nodes, &archive, &options.version, &server.config)?;
    let passphrase = format!("demo-{}", &MasterKey::generate().to_base64()[..24]);
    write_private(&dir.join("secrets/bundle.pass"), &passphrase)?;
    let base_url = match nodes.first() {
        Some(first) => first.base_url.clone(),
        None => format!("http://127.0.0.1:{port}"),
    };
    let instance_file = dir.join("upshift.toml");
    let clone = clone_toml(&format!("127.0.0.1:{port}"), options.postgres.as_deref())?;
    std::fs::write(
        &instance_file,
        instance_toml(&base_url, feed.public_key(), &database_toml, options)
            + &clone
            + &cluster::nodes_toml(&nodes, options.ssh.as_ref()),
    )?;
    Ok(Fixture {
        source: server.config.source()?,
        database,
        server_config: server.config_path.clone(),
        master_key: server.master_key.clone(),
        api_key: server.api_key.clone(),
        dir,
        instance_file,
        root,
        passphrase,
        base_url,
        feed,
        nodes,
    })
}

fn seed(binary: &Path, config: &Path, options: &Options) -> Result<()> {
    let mut command = Command::new(binary);
    command
        .args(["seed", "--config"])
        .arg(config)
        .args(["--projects", &options.projects.to_string()])
        .args(["--secrets", &options.secrets.to_string()])
        .stdout(std::process::Stdio::null());
    // The binary was unpacked a moment ago; in a test process another
    // thread's fork may still hold it open for writing ("text file busy").
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let status = loop {
        match command.status() {
            Err(e)
                if e.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.context("running sample-server seed")?,
        }
    };
    ensure!(status.success(), "sample-server seed failed with {status}");
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// The `[database]` body for the SQLite file the instance creates.
const SQLITE_TOML: &str = "kind = \"sqlite\"\npath = \"server/data/sample.sqlite\"";

/// The `[database]` body for a PostgreSQL connection string.
fn postgres_toml(conn: &str, strategy: &str, password_file: Option<&Path>) -> Result<String> {
    // PgTarget refuses a password in the string before anything is parsed here.
    crate::db::PgTarget::new(conn, None)?;
    let config: postgres::Config = conn.parse()?;
    let host = match config.get_hosts() {
        [postgres::config::Host::Tcp(host)] => host.clone(),
        _ => anyhow::bail!("the fixture's connection string needs exactly one TCP `host=`"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .context("the fixture's connection string needs `user=`")?;
    let dbname = config.get_dbname().unwrap_or(user);
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let password = password_file
        .map(|f| {
            format!(
                "\npassword = {{ file = {} }}",
                quote(&f.display().to_string())
            )
        })
        .unwrap_or_default();
    Ok(format!(
        "kind = \"postgres\"\nhost = {}\nport = {port}\nuser = {}\ndbname = {}\nstrategy = {}{password}",
        quote(&host),
        quote(user),
        quote(dbname),
        quote(strategy)
    ))
}

/// The `[clone]` section: a test instance gets the server's config and API
/// key, its own port (and PostgreSQL database), the master key from the
/// verified key bundle, and no queued work.
fn clone_toml(listen: &str, postgres: Option<&str>) -> Result<String> {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut replace = vec![format!("{} = \"127.0.0.1:{{port}}\"", quote(listen))];
    if let Some(conn) = postgres {
        let config: postgres::Config = conn.parse()?;
        let dbname = config
            .get_dbname()
            .or(config.get_user())
            .context("the fixture's connection string needs `dbname=`")?;
        replace.push(format!(
            "{} = \"dbname={{db}}\"",
            quote(&format!("dbname={dbname}"))
        ));
    }
    Ok(format!(
        r#"
[clone]
copy = ["server/server.toml", "server/keys/api.key", "server/keys/licence.json"]
replace = {{ {} }}
keys = {{ "master-key" = "server/keys/master.key" }}
isolate_sql = ["DELETE FROM tasks WHERE state <> 'done'"]
"#,
        replace.join(", ")
    ))
}

/// The instance file, with every path relative to it.
fn instance_toml(base: &str, public_key: &str, database: &str, options: &Options) -> String {
    let migration = if options.migrate_on_start {
        "kind = \"on-start\"".to_string()
    } else {
        "kind = \"command\"\nrun = [\"{dir}/bin/sample-server\", \"migrate\", \"--config\", \"server/server.toml\"]\ntimeout = \"5m\"".to_string()
    };
    format!(
        r#"# upshift instance file for a sample server (written by the fixture).
# Every field is described in docs/instance-file.md.

[instance]
name = "sample"
product = "sample-server"

[release]
source = "feed"
public_key = "{public_key}"

[install]
kind = "archive"
root = "server"

[service]
kind = "process"
start = ["{{current}}/bin/sample-server", "serve", "--config", "server/server.toml"]
pidfile = "run/server.pid"
log = "logs/server.log"
stop_timeout = "10s"
start_timeout = "20s"
ready = {{ url = "{base}/api" }}

[maintenance]
kind = "http"
on = {{ method = "PUT", url = "{base}/api/maintenance", body = {{ IsInMaintenanceMode = true }} }}
off = {{ method = "PUT", url = "{base}/api/maintenance", body = {{ IsInMaintenanceMode = false }} }}
status = {{ url = "{base}/api/maintenance", pointer = "/IsInMaintenanceMode" }}
headers = {{ "X-Api-Key" = {{ file = "server/keys/api.key" }} }}

[drain]
url = "{base}/api/tasks/summary"
pointer = "/Running"
timeout = "60s"
interval = "100ms"

[database]
{database}

[migration]
{migration}

[keys]
passphrase = {{ file = "secrets/bundle.pass" }}

[[keys.sources]]
name = "master-key"
from = {{ file = "server/keys/master.key" }}

[[keys.sources]]
name = "master-key-cli"
from = {{ command = ["{{current}}/bin/sample-server", "show-master-key", "--config", "server/server.toml"] }}

[[keys.sources]]
name = "licence"
from = {{ http = {{ url = "{base}/api/licence" }} }}

[licence]
from = {{ http = {{ url = "{base}/api/licence" }} }}
pointer = "/UpgradesUntil"

[[checks]]
kind = "http"
name = "health"
url = "{base}/api/health"
within = "10s"

[[checks]]
kind = "version"
name = "version"
url = "{base}/api"
pointer = "/Version"
within = "10s"

[[checks]]
kind = "sql"
name = "projects intact"
query = "SELECT count(*) FROM projects"
equals = {projects}
"#,
        projects = options.projects
    )
}
