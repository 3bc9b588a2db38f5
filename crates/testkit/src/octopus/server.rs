//! The stand-in `Octopus.Server` command line, written from Octopus'
//! documentation of `Octopus.Server.exe` (service, watchdog, database,
//! show-master-key, node, run). Options are written `--name=value` or
//! `--name value`, as the documented examples do both.
//!
//! What it does, per command:
//! - `service --instance=X --start|--stop`: starts the instance's server
//!   (`run`, detached, tracked by a pidfile; returns once it answers HTTP)
//!   or stops it (TERM, then KILL) and returns once it is gone. Starting a
//!   running or stopping a stopped service succeeds. `--status` is NOT an
//!   Octopus option: the stand-in's stand-in for asking Windows whether the
//!   service runs (exit 0 running, 3 stopped).
//! - `run --instance=X`: the server itself (see `api.rs`).
//! - `watchdog --create|--delete [--instances=..] [--interval=..]`: the
//!   scheduled task, as a file. Deleting a missing watchdog succeeds here;
//!   Octopus does not document what it does.
//! - `database --instance=X --upgrade [--skipLicenseCheck]`: refuses while
//!   any node using the database runs, refuses a version the licence does
//!   not cover, and otherwise sets the schema to the installed version and
//!   adds an `OctopusServerInstallationHistory` row; all or nothing, as
//!   Octopus' upgrade runs in one transaction. Already current: no change.
//! - `show-master-key --instance=X [--format=text|json]`: `{"MasterKey":..}`.
//! - `node --instance=X --drain=true|false [--wait=S] [--cancel-tasks]`.
//!
//! Every call is logged first. Failures exit 1 with the reason on stderr.
//! Fault switches: `database-upgrade` (the upgrade fails, nothing changes),
//! `service-start` (the server exits at once, so the start fails).

use super::api;
use super::files::{
    now_ms, read_json, write_json, Database, HistoryRow, MachineDir, Watchdog, World,
};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use upshift::Version;

/// Options that take a value.
const VALUED: &[&str] = &[
    "instance",
    "config",
    "instances",
    "interval",
    "format",
    "drain",
    "wait",
];
/// Options that are flags.
const FLAGS: &[&str] = &[
    "start",
    "stop",
    "status",
    "create",
    "delete",
    "upgrade",
    "skipLicenseCheck",
    "skipDatabaseCompatibilityCheck",
    "cancel-tasks",
    "console",
];

/// Runs `Octopus.Server <args>`, invoked as `argv0`; returns the exit code.
pub fn main(argv0: &Path, args: &[String]) -> i32 {
    match run(argv0, args) {
        Ok(()) => 0,
        Err(Exit(code, message)) => {
            eprintln!("{message}");
            code
        }
    }
}

/// A failure: exit code and message.
struct Exit(i32, String);

impl From<String> for Exit {
    fn from(message: String) -> Exit {
        Exit(1, message)
    }
}

type Result<T> = std::result::Result<T, Exit>;

fn run(argv0: &Path, args: &[String]) -> Result<()> {
    let location = argv0.parent().unwrap_or(Path::new("."));
    let location = std::fs::canonicalize(location).unwrap_or_else(|_| location.to_path_buf());
    let world = World::find(&location)?;
    let machine = MachineDir::of_location(&location);
    world.log(&machine.name(), "Octopus.Server", args);
    let Some((command, rest)) = args.split_first() else {
        return Err("Usage: Octopus.Server <command> [<options>]"
            .to_string()
            .into());
    };
    let opts = Options::parse(rest)?;
    let instance = opts
        .value("instance")
        .unwrap_or("OctopusServer")
        .to_string();
    let ctx = Ctx {
        argv0,
        world,
        machine,
        instance,
    };
    match command.as_str() {
        "service" => service(&ctx, &opts),
        "run" => {
            let cfg = ctx.machine.instance(&ctx.instance)?;
            if ctx.world.faulty("service-start") {
                return Err(format!("fault switch service-start: {} exits", cfg.node).into());
            }
            api::serve(&ctx.world, &ctx.machine, &cfg).map_err(Exit::from)
        }
        "watchdog" => watchdog(&ctx, &opts),
        "database" => database(&ctx, &opts),
        "show-master-key" => {
            let key = ctx.machine.instance(&ctx.instance)?.master_key;
            match opts.value("format").unwrap_or("text") {
                "json" => println!("{}", serde_json::json!({ "MasterKey": key })),
                _ => println!("{key}"),
            }
            Ok(())
        }
        "node" => node(&ctx, &opts),
        other => Err(format!("Command `{other}` is not supported by the stand-in").into()),
    }
}

/// What every command needs.
struct Ctx<'a> {
    argv0: &'a Path,
    world: World,
    machine: MachineDir,
    instance: String,
}

/// Parsed `--name=value`, `--name value` and `--flag` options.
struct Options(BTreeMap<String, Option<String>>);

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut map = BTreeMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(option) = arg.strip_prefix("--") else {
                return Err(format!("Unexpected argument `{arg}`").into());
            };
            let (name, value) = match option.split_once('=') {
                Some((n, v)) => (n, Some(v.trim_matches('"').to_string())),
                None => (option, None),
            };
            let value = match (VALUED.contains(&name), FLAGS.contains(&name), value) {
                (true, _, Some(v)) => Some(v),
                (true, _, None) => Some(
                    it.next()
                        .ok_or_else(|| format!("Option --{name} needs a value"))?
                        .clone(),
                ),
                (false, true, None) => None,
                _ => return Err(format!("Unrecognized option `--{name}`").into()),
            };
            map.insert(name.to_string(), value);
        }
        Ok(Options(map))
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.as_deref())
    }

    fn flag(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

fn service(ctx: &Ctx, opts: &Options) -> Result<()> {
    let cfg = ctx.machine.instance(&ctx.instance)?;
    let running = ctx.machine.running(&ctx.instance);
    if opts.flag("status") {
        return match running {
            Some(_) => Ok(()),
            None => Err(Exit(3, format!("{} is stopped", ctx.instance))),
        };
    }
    if opts.flag("stop") {
        if let Some(pid) = running {
            stop(pid)?;
        }
        let _ = std::fs::remove_file(ctx.machine.pidfile(&ctx.instance));
        return Ok(());
    }
    if !opts.flag("start") {
        return Err("service: give --start, --stop or --status"
            .to_string()
            .into());
    }
    if running.is_some() {
        return Ok(());
    }
    let log = ctx.machine.log_file(&ctx.instance);
    std::fs::create_dir_all(log.parent().unwrap_or(Path::new("."))).map_err(|e| e.to_string())?;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut child = Command::new(ctx.argv0)
        .args(["run", &format!("--instance={}", ctx.instance)])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let pidfile = ctx.machine.pidfile(&ctx.instance);
    super::files::write_atomic(&pidfile, child.id().to_string().as_bytes())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let _ = std::fs::remove_file(&pidfile);
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(3).collect();
            return Err(format!(
                "The service {} could not be started ({status}): {}",
                ctx.instance,
                tail.join(" / ")
            )
            .into());
        }
        if std::net::TcpStream::connect(("127.0.0.1", cfg.port)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("The service {} did not start within 30 s", ctx.instance).into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops process `pid`: TERM, then KILL after 20 s; returns once it is gone.
fn stop(pid: i32) -> Result<()> {
    use nix::sys::signal::{kill, Signal};
    let pid_t = nix::unistd::Pid::from_raw(pid);
    let _ = kill(pid_t, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(20);
    while super::files::alive(pid) {
        if Instant::now() >= deadline {
            let _ = kill(pid_t, Signal::SIGKILL);
        }
        if Instant::now() >= deadline + Duration::from_secs(5) {
            return Err(format!("process {pid} does not stop").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn watchdog(ctx: &Ctx, opts: &Options) -> Result<()> {
    let file = ctx.machine.watchdog_file();
    if opts.flag("delete") {
        return match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.to_string().into()),
            _ => Ok(()),
        };
    }
    if !opts.flag("create") {
        return Err("watchdog: give --create or --delete".to_string().into());
    }
    let interval = opts
        .value("interval")
        .unwrap_or("5")
        .parse()
        .map_err(|_| "--interval must be a number of minutes".to_string())?;
    let watchdog = Watchdog {
        instances: opts.value("instances").unwrap_or("*").to_string(),
        interval,
    };
    write_json(&file, &watchdog).map_err(Exit::from)
}

fn database(ctx: &Ctx, opts: &Options) -> Result<()> {
    if !opts.flag("upgrade") {
        return Err("database: the stand-in implements --upgrade only"
            .to_string()
            .into());
    }
    let cfg = ctx.machine.instance(&ctx.instance)?;
    if ctx.world.faulty("database-upgrade") {
        return Err("Script 'Script0042 - stand-in failure.sql' failed; the upgrade was rolled back (fault switch database-upgrade)".to_string().into());
    }
    let running = ctx.world.running_on(&cfg.database);
    if !running.is_empty() {
        return Err(format!(
            "The database cannot be upgraded while Octopus Server nodes are running: {}",
            running.join(", ")
        )
        .into());
    }
    let installed: Version = ctx
        .machine
        .installed()?
        .version
        .parse()
        .map_err(|e: upshift::Error| e.to_string())?;
    let path = ctx.world.database_file(&cfg.database);
    let mut db: Database = read_json(&path)?;
    let covered: Version = db
        .licence
        .max_version
        .parse()
        .map_err(|e: upshift::Error| e.to_string())?;
    if !opts.flag("skipLicenseCheck") && installed > covered {
        return Err(format!(
            "Your license does not cover Octopus Server {installed} (it covers up to {covered}); the database was not changed"
        )
        .into());
    }
    let schema: Version = db
        .schema_version
        .parse()
        .map_err(|e: upshift::Error| e.to_string())?;
    if schema > installed {
        return Err(format!(
            "The database schema ({schema}) is newer than this Octopus Server ({installed})"
        )
        .into());
    }
    if schema == installed {
        println!("The database is up to date");
        return Ok(());
    }
    db.schema_version = installed.to_string();
    db.installation_history.push(HistoryRow {
        node: cfg.node,
        version: installed.to_string(),
        installed: now_ms(),
    });
    write_json(&path, &db)?;
    println!("Upgraded the database from {schema} to {installed}");
    Ok(())
}

fn node(ctx: &Ctx, opts: &Options) -> Result<()> {
    let cfg = ctx.machine.instance(&ctx.instance)?;
    let drain = match opts.value("drain") {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Err("node: the stand-in implements --drain=true|false"
                .to_string()
                .into())
        }
    };
    let path = ctx.world.database_file(&cfg.database);
    let mut db: Database = read_json(&path)?;
    db.nodes.entry(cfg.node.clone()).or_default().drain = drain;
    write_json(&path, &db)?;
    let wait: u64 = opts
        .value("wait")
        .unwrap_or("0")
        .parse()
        .map_err(|_| "--wait must be seconds".to_string())?;
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let db: Database = read_json(&path)?;
        let busy = db.tasks.iter().any(|t| t.state_now() == "Executing");
        if !busy || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if drain && opts.flag("cancel-tasks") {
        let mut db: Database = read_json(&path)?;
        for task in db.tasks.iter_mut().filter(|t| t.state_now() == "Executing") {
            task.state = "Canceled".into();
        }
        write_json(&path, &db)?;
    }
    Ok(())
}
