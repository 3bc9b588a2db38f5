//! `upshift init`: writes each preset, never over an existing file unless
//! asked to.

use upshift::config::presets::Product;

fn init(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("upshift")
        .unwrap()
        .current_dir(dir)
        .arg("init")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn writes_each_preset_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    for (name, product) in [
        ("octopus", Product::Octopus),
        ("generic", Product::Generic),
        ("sample", Product::Sample),
    ] {
        let out = init(
            dir.path(),
            &["--product", name, "--out", &format!("{name}.toml")],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let file = dir.path().join(format!("{name}.toml"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), product.text());
    }

    let out = init(dir.path(), &["--product", "generic"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let default = dir.path().join("upshift.toml");
    assert_eq!(
        std::fs::read_to_string(&default).unwrap(),
        Product::Generic.text()
    );

    std::fs::write(&default, "# mine\n").unwrap();
    let out = init(dir.path(), &["--product", "octopus"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("upshift.toml already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&default).unwrap(), "# mine\n");

    let out = init(dir.path(), &["--product", "octopus", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&default).unwrap(),
        Product::Octopus.text()
    );

    let out = init(dir.path(), &["--product", "tomcat"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
