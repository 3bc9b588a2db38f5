//! Security holes from the hostile review (issue 11, items 8 to 13), each
//! reproduced for real: a cache file swapped between verification and
//! unpacking, symlinks planted where upshift writes, a 307 to another
//! origin, folders other users can write to, a plain-http source trusted
//! on its own word, a secret written inline, and secret files that are a
//! FIFO or `/dev/zero`. Exact moments inside a run come from failpoints
//! that run a script (`return(run:<script>)`), so every race is
//! deterministic.

use crate::support::serving;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{FeedServer, Sample};

/// Replaces `from` by `to` in the sample's instance file.
fn edit(sample: &Sample, from: &str, to: &str) {
    let path = &sample.fx.instance_file;
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "the instance file has no {from:?}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// An executable `sh` script in the sample's folder.
fn script(sample: &Sample, name: &str, body: &str) -> PathBuf {
    let path = sample.dir().join(name);
    std::fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A `FAILPOINTS` value running `script` at `point`.
fn run_at(point: &str, script: &Path) -> String {
    format!("{point}=return(run:{})", script.display())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `upshift -c <instance file> <args>`, killing it and failing the
/// test if it has not ended within `limit` (a hang is the bug).
fn run_within(sample: &Sample, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("upshift"))
        .arg("-c")
        .arg(&sample.fx.instance_file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("upshift {args:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Item 9: the archive is swapped in the cache after it was verified and
/// before it is unpacked; what gets installed is still the verified one.
#[test]
fn a_cache_file_swapped_after_verification_is_not_installed() {
    let sample = Sample::started();
    let old = sample.fx.dir.join("feed/sample-server-2026.1.0.tar.gz");
    let cached = sample
        .state_dir()
        .join("cache/sample-server-2026.1.1.tar.gz");
    let swapped = sample.dir().join("swapped");
    let swap = script(
        &sample,
        "swap.sh",
        &format!(
            "cp '{}' '{}.evil'\nmv '{}.evil' '{}'\ntouch '{}'",
            old.display(),
            cached.display(),
            cached.display(),
            cached.display(),
            swapped.display()
        ),
    );
    sample.run_with(
        &["upgrade", "--yes", "--to", "2026.1.1"],
        &[("FAILPOINTS", run_at("stage-unpack", &swap).as_str())],
        0,
    );
    assert!(swapped.exists(), "the swap ran between verify and unpack");
    serving(&sample, "2026.1.1");
}

/// Items 9 and 13: a cache or state folder that others can write to is
/// refused before anything changes, naming the folder and the fix.
#[test]
fn folders_others_can_write_to_are_refused() {
    let sample = Sample::started();
    let state = sample.state_dir();
    let cache = state.join("cache");
    sample.run(&["status"], 0);
    std::fs::create_dir_all(&cache).unwrap();
    for (dir, bad) in [(&cache, 0o777), (&state, 0o770)] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(bad)).unwrap();
        let out = sample.run(&["upgrade", "--yes", "--to", "2026.1.1"], 2);
        let text = stderr(&out);
        assert!(text.contains(&dir.display().to_string()), "{text}");
        assert!(text.contains("chmod"), "{text}");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        serving(&sample, "2026.1.0");
    }
    sample.run(&["upgrade", "--yes", "--to", "2026.1.1"], 0);
}

/// Item 13: folders upshift creates are 0700 even under `umask 000`.
#[test]
fn folders_upshift_creates_are_private_whatever_the_umask() {
    let sample = Sample::started();
    let out = Command::new("sh")
        .args(["-c", "umask 000; exec \"$0\" \"$@\""])
        .arg(assert_cmd::cargo::cargo_bin("upshift"))
        .arg("-c")
        .arg(&sample.fx.instance_file)
        .args(["upgrade", "--yes", "--to", "2026.1.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut dirs = vec![sample.state_dir()];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        seen += 1;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    assert!(seen >= 3, "the state folder, its cache and its backups");
}

/// Item 10: symlinks planted at the names upshift writes to (the old
/// predictable temporary name of the pidfile, the download's `.part`) do
/// not make upshift write into their targets.
#[test]
fn planted_symlinks_do_not_redirect_writes() {
    let sample = Sample::started();
    let victims: Vec<PathBuf> = ["victim-pid", "victim-part"]
        .iter()
        .map(|n| sample.dir().join(n))
        .collect();
    for victim in &victims {
        std::fs::write(victim, "precious\n").unwrap();
    }
    let cache = sample.state_dir().join("cache");
    let plant = script(
        &sample,
        "plant.sh",
        &format!(
            "mkdir -p '{cache}'\nln -s '{}' '{}/run/.server.pid.tmp-'$PPID\nln -s '{}' '{cache}/sample-server-2026.1.1.tar.gz.part'",
            victims[0].display(),
            sample.dir().display(),
            victims[1].display(),
            cache = cache.display()
        ),
    );
    sample.run_with(
        &["upgrade", "--yes", "--to", "2026.1.1"],
        &[("FAILPOINTS", run_at("before-stage", &plant).as_str())],
        0,
    );
    for victim in &victims {
        assert_eq!(
            std::fs::read_to_string(victim).unwrap(),
            "precious\n",
            "upshift wrote through a planted symlink into {}",
            victim.display()
        );
    }
    serving(&sample, "2026.1.1");
}

/// The headers of one request: lowercase names and values.
type Headers = Vec<(String, String)>;

/// A tiny HTTP server that answers every request with `respond` and keeps
/// each request's headers.
struct Recorder {
    url: String,
    headers: Arc<Mutex<Vec<Headers>>>,
}

impl Recorder {
    fn start(respond: impl Fn(&str) -> tiny_http::ResponseBox + Send + 'static) -> Recorder {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let headers = Arc::new(Mutex::new(Vec::new()));
        let seen = headers.clone();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                seen.lock().unwrap().push(
                    request
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_ascii_lowercase(),
                                h.value.to_string(),
                            )
                        })
                        .collect(),
                );
                let response = respond(request.url());
                let _ = request.respond(response);
            }
        });
        Recorder { url, headers }
    }
}

/// Item 11: a 307 to another origin never carries the API key there; the
/// request stops at the redirect with an error that says why.
#[test]
fn secret_headers_never_follow_a_redirect_to_another_origin() {
    let sample = Sample::started();
    let elsewhere = Recorder::start(|_| {
        tiny_http::Response::from_string("{\"IsInMaintenanceMode\":false}").boxed()
    });
    let target = elsewhere.url.clone();
    let first = Recorder::start(move |path| {
        let location =
            tiny_http::Header::from_bytes("Location", format!("{target}{path}")).unwrap();
        tiny_http::Response::empty(307)
            .with_header(location)
            .boxed()
    });
    edit(
        &sample,
        &format!("{}/api/maintenance", sample.fx.base_url),
        &format!("{}/api/maintenance", first.url),
    );
    let out = run_within(&sample, &["maintenance", "status"], Duration::from_secs(60));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !first.headers.lock().unwrap().is_empty(),
        "the first server was asked"
    );
    let leaked = elsewhere
        .headers
        .lock()
        .unwrap()
        .iter()
        .flatten()
        .any(|(name, _)| name == "x-api-key");
    assert!(!leaked, "the API key was sent to another origin");
    let text = stderr(&out);
    assert!(text.contains("redirect"), "{text}");
    assert!(text.contains(&elsewhere.url), "{text}");
    assert!(!text.contains(&sample.fx.api_key), "{text}");
}

/// Item 13: a plain-http index whose SHA-256 is the only proof, with no
/// pin: `plan` warns, `upgrade` refuses, `allow_insecure_source` accepts.
#[test]
fn a_plain_http_source_without_signature_or_pin_is_refused() {
    let sample = Sample::started();
    let feed = FeedServer::start(sample.fx.dir.join("feed"));
    let text = std::fs::read_to_string(&sample.fx.instance_file).unwrap();
    let key_line = text
        .lines()
        .find(|l| l.starts_with("public_key = "))
        .unwrap()
        .to_string();
    edit(
        &sample,
        &format!("source = \"feed\"\n{key_line}"),
        &format!("source = \"{}/index.json\"\nverify = \"sha256\"", feed.url),
    );
    let out = sample.run(&["plan", "--to", "2026.1.1"], 0);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(said.contains("allow_insecure_source"), "{said}");
    let out = sample.run(&["upgrade", "--yes", "--to", "2026.1.1"], 2);
    assert!(
        stderr(&out).contains("allow_insecure_source"),
        "{}",
        stderr(&out)
    );
    serving(&sample, "2026.1.0");
    edit(
        &sample,
        "verify = \"sha256\"",
        "verify = \"sha256\"\nallow_insecure_source = true",
    );
    sample.run(&["upgrade", "--yes", "--to", "2026.1.1"], 0);
    serving(&sample, "2026.1.1");
}

/// Item 13: a secret written in the instance file itself is refused, and
/// the error does not repeat it.
#[test]
fn an_inline_secret_is_refused_without_echoing_it() {
    let sample = Sample::with_passphrase(&Default::default());
    let canary = "inline-canary-7f3k9q";
    edit(
        &sample,
        "passphrase = { file = \"secrets/bundle.pass\" }",
        &format!("passphrase = \"{canary}\""),
    );
    let out = sample.run(&["plan"], 2);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!said.contains(canary), "the secret was echoed: {said}");
    assert!(
        said.contains("never written in the instance file"),
        "{said}"
    );
    assert!(said.contains("see line"), "{said}");
    assert!(said.contains("env ="), "{said}");
}

/// Item 8: a secret file that is a FIFO, `/dev/zero` or far too large is
/// refused at once (exit 2), never waited on or read to the end.
#[test]
fn a_secret_file_that_is_not_a_small_regular_file_is_refused() {
    let sample = Sample::with_passphrase(&Default::default());
    let pass = sample.dir().join("secrets/bundle.pass");
    type Plant<'a> = (&'a str, &'a dyn Fn(&Path));
    let plant: [Plant; 3] = [
        ("not a regular file", &|p: &Path| {
            let made = Command::new("mkfifo").arg(p).status().unwrap();
            assert!(made.success());
        }),
        ("not a regular file", &|p: &Path| {
            std::os::unix::fs::symlink("/dev/zero", p).unwrap()
        }),
        ("larger than", &|p: &Path| {
            std::fs::write(p, vec![b'x'; 1 << 20]).unwrap()
        }),
    ];
    for (expected, make) in plant {
        std::fs::remove_file(&pass).unwrap();
        make(&pass);
        let out = run_within(&sample, &["plan"], Duration::from_secs(20));
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains(&pass.display().to_string()), "{text}");
        assert!(text.contains(expected), "{text}");
    }
}

/// Item 10: the lock file beside a SQLite database lives in the server's
/// data folder; a symlink planted there is refused, its target untouched.
#[test]
fn a_planted_database_lock_link_is_refused() {
    let sample = Sample::started();
    let victim = sample.dir().join("victim-lock");
    std::fs::write(&victim, "precious\n").unwrap();
    let lock = sample.fx.database.with_extension("sqlite.upshift-lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let out = sample
        .upshift()
        .args(["upgrade", "--yes", "--to", "2026.1.1"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&lock.display().to_string()),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    serving(&sample, "2026.1.0");
}
