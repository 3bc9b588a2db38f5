//! Secrets stay secret: the API key, the master key and the bundle
//! passphrase never appear in stdout, stderr, the journal, the server log or
//! JSON output, through a good upgrade, a failed one and every read command.

use crate::support::all_files;
use sample_server::fixture::Options;
use testkit::Sample;

#[test]
fn canary_secrets_never_leak() {
    let sample = Sample::with_passphrase(&Options {
        brk: Some(("2026.2.0".into(), sample_server::manifest::Break::Migration)),
        ..Options::default()
    });
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
        let out = sample.upshift().args(*args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((args.join(" "), out.stdout));
        outputs.push((format!("{} (stderr)", args.join(" ")), out.stderr));
    }
    let mut files = Vec::new();
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
