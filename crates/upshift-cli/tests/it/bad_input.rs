//! Bad input: each case exits 2 with a message that says what and where,
//! and the install and data folders are byte-identical afterwards.

use sample_server::fixture::Options;
use std::path::Path;
use testkit::{tree_hash, Sample};

/// Runs `upshift <args>` and proves it was refused (exit 2, `expect` in
/// stderr) with nothing changed.
fn refused(sample: &Sample, args: &[&str], expect: &str) {
    let before = tree_hash(&sample.fx.root);
    let data = sample.snapshot();
    let out = sample.upshift().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: stderr: {stderr}\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.to_lowercase().contains(&expect.to_lowercase()),
        "{args:?}: expected `{expect}` in: {stderr}"
    );
    assert_eq!(
        tree_hash(&sample.fx.root),
        before,
        "{args:?}: the install or data changed"
    );
    assert_eq!(sample.snapshot(), data, "{args:?}: the data changed");
    assert_eq!(
        sample.get("/api").1["Version"],
        "2026.1.0",
        "still serving the old version"
    );
}

/// Runs `f` with the instance file edited by `edit`, then restores it.
fn with_instance_file(sample: &Sample, edit: impl Fn(&str) -> String, f: impl FnOnce()) {
    let path = &sample.fx.instance_file;
    let original = std::fs::read_to_string(path).unwrap();
    let edited = edit(&original);
    assert_ne!(edited, original, "the edit changed nothing");
    std::fs::write(path, edited).unwrap();
    f();
    std::fs::write(path, original).unwrap();
}

#[test]
fn instance_file_errors_are_refused() {
    let sample = Sample::started();
    let upgrade = ["upgrade", "--yes"];
    with_instance_file(
        &sample,
        |t| t.replace("[install]", "[install"),
        || {
            refused(&sample, &upgrade, "upshift.toml");
        },
    );
    with_instance_file(
        &sample,
        |t| {
            t.replace(
                "kind = \"process\"",
                "kind = \"process\"\ncolour = \"blue\"",
            )
        },
        || {
            refused(&sample, &upgrade, "unknown field `colour`");
        },
    );
    with_instance_file(
        &sample,
        |t| {
            t.replace(
                "stop_timeout = \"10s\"",
                "stop_timeout = \"10s\"\nstop_signal = \"KILLME\"",
            )
        },
        || refused(&sample, &upgrade, "service.stop_signal"),
    );
    with_instance_file(
        &sample,
        |t| {
            t.replace("{{current}}", "{curent}")
                .replace("{current}", "{curent}")
        },
        || {
            refused(&sample, &upgrade, "unknown placeholder {curent}");
        },
    );
    with_instance_file(
        &sample,
        |t| {
            t.replace(
                "{ file = \"server/keys/api.key\" }",
                "{ env = \"UPSHIFT_TEST_UNSET_API_KEY\" }",
            )
        },
        || refused(&sample, &upgrade, "UPSHIFT_TEST_UNSET_API_KEY is not set"),
    );
    with_instance_file(
        &sample,
        |t| {
            t.replace(
                "source = \"feed\"",
                "source = \"http://127.0.0.1:9/index.json\"",
            )
        },
        || {
            refused(&sample, &upgrade, "127.0.0.1:9");
        },
    );
}

/// Edits the feed's index entry for `version` with `edit`.
fn edit_index(
    feed_dir: &Path,
    version: &str,
    edit: impl Fn(&mut serde_json::Value, &serde_json::Value),
) -> String {
    let path = feed_dir.join("index.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut index: serde_json::Value = serde_json::from_str(&original).unwrap();
    let releases = index["releases"].as_array().unwrap().clone();
    let other = releases
        .iter()
        .find(|r| r["version"] != version)
        .unwrap()
        .clone();
    let entry = index["releases"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["version"] == version)
        .unwrap();
    edit(entry, &other);
    std::fs::write(&path, serde_json::to_string(&index).unwrap()).unwrap();
    original
}

#[test]
fn tampered_releases_are_refused() {
    let sample = Sample::started();
    let feed = sample.fx.dir.join("feed");
    let upgrade = ["upgrade", "--yes", "--to", "2026.1.1"];
    let original = edit_index(&feed, "2026.1.1", |r, _| {
        r["sha256"] = "0".repeat(64).into()
    });
    refused(&sample, &upgrade, "SHA-256");
    std::fs::write(feed.join("index.json"), &original).unwrap();
    edit_index(&feed, "2026.1.1", |r, other| {
        r["signature"] = other["signature"].clone()
    });
    refused(&sample, &upgrade, "signature");
    std::fs::write(feed.join("index.json"), &original).unwrap();
}

/// A tar.gz with one entry whose raw name (and link target) is written
/// as-is, the way a malicious archive would be.
fn evil_archive(dir: &Path, name: &str, link: Option<&str>) -> std::path::PathBuf {
    let mut header = tar::Header::new_old();
    let raw = &mut header.as_old_mut().name;
    raw[..name.len()].copy_from_slice(name.as_bytes());
    match link {
        Some(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
            header.set_size(0);
        }
        None => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(4);
        }
    }
    header.set_mode(0o644);
    header.set_cksum();
    let mut data = Vec::new();
    data.extend_from_slice(header.as_bytes());
    if link.is_none() {
        let mut block = [0u8; 512];
        block[..4].copy_from_slice(b"evil");
        data.extend_from_slice(&block);
    }
    data.extend_from_slice(&[0u8; 1024]);
    let path = dir.join(format!(
        "evil-{}.tar.gz",
        name.len() + link.map_or(0, str::len)
    ));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &data).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    path
}

#[test]
fn malicious_archives_are_refused() {
    let mut sample = Sample::started();
    let scratch = tempfile::tempdir().unwrap();
    let cases = [
        ("2026.1.5", "../escaped", None, "../escaped"),
        (
            "2026.1.6",
            "/tmp/upshift-absolute",
            None,
            "/tmp/upshift-absolute",
        ),
        (
            "2026.1.7",
            "bin/link",
            Some("../../../../etc/passwd"),
            "bin/link",
        ),
    ];
    for (version, name, link, expect) in cases {
        let archive = evil_archive(scratch.path(), name, link);
        sample
            .fx
            .feed
            .publish(&archive, version, "2026-01-20")
            .unwrap();
        refused(&sample, &["upgrade", "--yes", "--to", version], expect);
        assert!(!sample.fx.root.join("versions").join(version).exists());
    }
    assert!(!Path::new("/tmp/upshift-absolute").exists());
}

#[test]
fn plans_that_are_not_allowed_are_refused() {
    let sample = Sample::started();
    refused(
        &sample,
        &["upgrade", "--yes", "--to", "2027.1.0"],
        "--allow-major",
    );
    refused(
        &sample,
        &["upgrade", "--yes", "--to", "2026.9.0"],
        "not in the release source",
    );
    {
        let _held = upshift::support::lock::Lock::acquire(&sample.state_dir(), "a test").unwrap();
        refused(&sample, &["upgrade", "--yes"], "instance is busy");
    }
    refused(&sample, &["upgrade"], "--yes");
}

#[test]
fn downgrade_is_refused() {
    let sample = Sample::new(&Options {
        version: "2026.1.1".into(),
        ..Options::default()
    });
    sample.start();
    let before = tree_hash(&sample.fx.root);
    let out = sample.run(&["upgrade", "--yes", "--to", "2026.1.0"], 2);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("refusing to downgrade from 2026.1.1 to 2026.1.0"));
    assert_eq!(tree_hash(&sample.fx.root), before);
}

#[test]
fn release_outside_the_licence_is_refused() {
    let sample = Sample::new(&Options {
        upgrades_until: "2026-03-01".into(),
        ..Options::default()
    });
    sample.start();
    refused(
        &sample,
        &["upgrade", "--yes"],
        "licence covers releases published until 2026-03-01",
    );
    sample.run(&["upgrade", "--yes", "--to", "2026.1.1"], 0);
}

#[test]
fn too_little_disk_for_the_backup_is_refused() {
    let sample = Sample::started();
    let small = sample.fx.dir.join("small");
    let _mount = testkit::Tmpfs::mount(&small, "1m");
    with_instance_file(
        &sample,
        |t| t.replace("[migration]", "[backups]\ndir = \"small\"\n\n[migration]"),
        || {
            refused(
                &sample,
                &["upgrade", "--yes"],
                "not enough disk space for the database backup",
            );
        },
    );
}

#[test]
fn a_missing_instance_file_says_how_to_get_one() {
    let empty = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .arg("status")
        .current_dir(empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read instance file upshift.toml"),
        "{stderr}"
    );
    for way in ["upshift init --product", "-c FILE"] {
        assert!(
            stderr.contains("hint:") && stderr.contains(way),
            "no `{way}` in the hint: {stderr}"
        );
    }
}
