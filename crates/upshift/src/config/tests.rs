//! The loader's checks across sections, on the sample preset with one
//! change at a time: each bad file is refused with the field named.

use super::{load, Loaded};
use crate::config::presets::Product;
use crate::ErrorKind;

fn load_with(edit: impl Fn(&str) -> String) -> crate::Result<Loaded> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upshift.toml");
    std::fs::write(&path, edit(Product::Sample.text())).unwrap();
    load(&path)
}

fn refused(edit: impl Fn(&str) -> String, expected: &str) {
    let err = load_with(edit).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.to_string().contains(expected), "{err}");
}

const COMMAND_INSTALL: &str = "kind = \"command\"\nroot = \"server\"\nrun = [\"cp\", \"{artifact}\", \"{dir}\"]\nactivate = [\"install-in-place\", \"{dir}\", \"{from}\"]";

const COMMAND_SERVICE: &str = r#"[service]
kind = "command"
start = ["ctl", "start", "{version}"]
stop = ["ctl", "stop"]
status = ["ctl", "status"]
before_stop = [["ctl", "watchdog", "--delete"], ["ctl", "drain", "{instance_dir}"]]
after_start = [["ctl", "watchdog", "--create", "{version}"]]

[maintenance]"#;

/// `t` with `[install]` replaced by `install`.
fn with_install(t: &str, install: &str) -> String {
    let start = t.find("[install]\n").unwrap() + 10;
    t.replace(&t[start..t.find("\n\n[service]").unwrap()], install)
}

/// `t` with `[service]` replaced by `service` (which ends in `[maintenance]`).
fn with_service(t: &str, service: &str) -> String {
    t.replace(
        &t[t.find("[service]").unwrap()..t.find("[maintenance]").unwrap() + 13],
        service,
    )
}

#[test]
fn install_activate_and_service_hooks_load() {
    let loaded =
        load_with(|t| with_service(&with_install(t, COMMAND_INSTALL), COMMAND_SERVICE)).unwrap();
    let super::InstallConfig::Command { activate, .. } = &loaded.file.install else {
        panic!("install is not command")
    };
    assert_eq!(activate.as_ref().unwrap()[0], "install-in-place");
    let super::ServiceConfig::Command {
        before_stop,
        after_start,
        ..
    } = &loaded.file.service
    else {
        panic!("service is not command")
    };
    assert_eq!((before_stop.len(), after_start.len()), (2, 1));
}

#[test]
fn placeholders_are_checked_in_activate_and_hooks() {
    refused(
        |t| {
            with_service(
                t,
                &COMMAND_SERVICE.replace("\"--create\", \"{version}\"", "\"{versoin}\""),
            )
        },
        "service.after_start[0]: unknown placeholder {versoin}",
    );
    refused(
        |t| {
            with_service(
                t,
                &COMMAND_SERVICE.replace("[\"ctl\", \"drain\", \"{instance_dir}\"]", "[]"),
            )
        },
        "service.before_stop[1]: the command is empty",
    );
    refused(
        |t| with_install(t, &COMMAND_INSTALL.replace("{from}", "{artifact}")),
        "install.activate: {artifact} has a value in install.run only",
    );
    refused(
        |t| {
            t.replace(
                "\"migrate\", \"--config\"",
                "\"migrate\", \"{artifact}\", \"--config\"",
            )
        },
        "migration.run: {artifact} has a value in install.run only",
    );
}

#[test]
fn release_trust_is_checked_on_load() {
    refused(
        |t| t.replace("public_key = ", "verify = \"sha256\"\npublic_key = "),
        "release.public_key: verify = \"sha256\" checks no signature",
    );
    refused(
        |t| t.replace("public_key = ", "# public_key = "),
        "release.public_key: required with verify = \"minisign\"",
    );
    let loaded = load_with(|t| {
        t.replace("public_key = ", "verify = \"sha256\"\n# public_key = ")
            .replace(
                "# cache_dir",
                &format!(
                    "[release.sha256]\n\"2026.1\" = \"{}\"\n# cache_dir",
                    "0".repeat(64)
                ),
            )
    })
    .unwrap();
    assert_eq!(loaded.file.release.sha256.len(), 1);
}

#[test]
fn a_plain_text_version_check_takes_no_pointer() {
    let text_version = |t: &str| t.replace("pointer = \"/Version\"", "format = \"text\"");
    let loaded = load_with(text_version).unwrap();
    assert!(loaded.file.checks.iter().any(|c| matches!(
        c,
        super::CheckConfig::Version {
            pointer: None,
            format: Some(super::BodyFormat::Text),
            ..
        }
    )));
    refused(
        |t| {
            t.replace(
                "pointer = \"/Version\"",
                "pointer = \"/Version\"\nformat = \"text\"",
            )
        },
        "checks[1]: `pointer = \"/Version\"` needs a JSON answer",
    );
}
