//! Secrets stay secret: the API key, the master key and the bundle
//! passphrase never appear in stdout, stderr, the journal, the server log or
//! JSON output, through a good upgrade, a failed one and every read command;
//! nor in the environment of any process upshift starts (the server it
//! leaves running, the migration, a key source's command): the passphrase
//! and the API key reach upshift through environment variables the
//! instance file names, which upshift keeps to itself.

use crate::support::all_files;
use sample_server::fixture::Options;
use testkit::Sample;

/// Prefixes a command line in the instance file with a shell that dumps
/// its environment into `<dump>.<pid>` before running it.
fn dumping_env(argv_start: &str, dump: &std::path::Path) -> String {
    format!(
        "[\"/bin/sh\", \"-c\", \"env > \\\"$0.$$\\\"; exec \\\"$@\\\"\", \"{}\", {}",
        dump.display(),
        argv_start.trim_start_matches('[')
    )
}

/// Points the instance file's secrets at environment variables and has
/// the commands it names dump their environment into `envs`.
fn secrets_from_env(sample: &Sample, envs: &std::path::Path) {
    let path = &sample.fx.instance_file;
    let mut text = std::fs::read_to_string(path).unwrap();
    let migrate = "[\"{dir}/bin/sample-server\", \"migrate\"";
    let show = "[\"{current}/bin/sample-server\", \"show-master-key\"";
    for (from, to) in [
        (
            "passphrase = { file = \"secrets/bundle.pass\" }".to_string(),
            "passphrase = { env = \"UPSHIFT_IT_BUNDLE_PASS\" }".to_string(),
        ),
        (
            "\"X-Api-Key\" = { file = \"server/keys/api.key\" }".to_string(),
            "\"X-Api-Key\" = { env = \"UPSHIFT_IT_API_KEY\" }".to_string(),
        ),
        (
            migrate.to_string(),
            dumping_env(migrate, &envs.join("migrate")),
        ),
        (
            show.to_string(),
            dumping_env(show, &envs.join("show-master-key")),
        ),
    ] {
        assert!(text.contains(&from), "the instance file has no {from}");
        text = text.replace(&from, &to);
    }
    std::fs::write(path, text).unwrap();
}

/// The environment of the server the pidfile names.
fn server_environ(sample: &Sample) -> Vec<u8> {
    let pidfile = std::fs::read_to_string(sample.dir().join("run/server.pid")).unwrap();
    let pid = pidfile.split_whitespace().next().unwrap();
    std::fs::read(format!("/proc/{pid}/environ")).unwrap()
}

#[test]
fn canary_secrets_never_leak() {
    let sample = Sample::with_passphrase(&Options {
        brk: Some(("2026.2.0".into(), sample_server::manifest::Break::Migration)),
        ..Options::default()
    });
    let envs = sample.dir().join("envs");
    std::fs::create_dir(&envs).unwrap();
    secrets_from_env(&sample, &envs);
    sample.start();
    let master = sample.master_key().to_base64();
    let canaries = [
        sample.fx.api_key.as_str(),
        master.as_str(),
        sample.fx.passphrase.as_str(),
    ];
    let mut outputs = Vec::new();
    // Each command with the exit code it must give: the migration of
    // 2026.2.0 is broken, so the second upgrade fails inside the window
    // and is rolled back.
    let commands: &[(&[&str], i32)] = &[
        (&["upgrade", "--yes", "--json", "--to", "2026.1.1"], 0),
        (&["backup", "keys"], 0),
        (&["backups", "verify", "--json"], 0),
        (&["maintenance", "status"], 0),
        (&["check", "--json"], 0),
        (&["upgrade", "--yes", "--json"], 1),
        (&["status", "--json"], 0),
        (&["history", "--json"], 0),
        (&["backups", "list", "--json"], 0),
    ];
    for (args, code) in commands {
        let out = sample
            .upshift()
            .env("UPSHIFT_IT_BUNDLE_PASS", &sample.fx.passphrase)
            .env("UPSHIFT_IT_API_KEY", &sample.fx.api_key)
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((args.join(" "), out.stdout));
        outputs.push((format!("{} (stderr)", args.join(" ")), out.stderr));
    }
    outputs.push(("the server's environment".into(), server_environ(&sample)));
    let dumps = all_files(&envs);
    assert!(
        dumps
            .iter()
            .any(|d| d.to_string_lossy().contains("migrate."))
            && dumps
                .iter()
                .any(|d| d.to_string_lossy().contains("show-master-key.")),
        "the migration and the key command ran: {dumps:?}"
    );
    let mut files = dumps;
    files.extend(all_files(&sample.state_dir()));
    files.extend(all_files(&sample.fx.dir.join("logs")));
    assert!(
        files.iter().any(|f| f.ends_with("state.db")),
        "the journal is among the files read: {files:?}"
    );
    for path in files {
        outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    for (what, bytes) in &outputs {
        let text = String::from_utf8_lossy(bytes);
        for canary in canaries {
            assert!(!text.contains(canary), "a secret leaked into {what}");
        }
    }
}
