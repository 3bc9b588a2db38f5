//! Commented instance files to start from (`upshift init --product ...`).
//!
//! Each preset is a complete `upshift.toml` for one kind of server, written
//! for the operator who fills it in: every section says what it does, which
//! values to change, and where the product does not document a behaviour
//! upshift relies on. The files live beside this module and are compiled in.
//!
//! Writing never replaces an existing file unless asked to (`force`), and
//! is atomic: the file is complete or absent.

use crate::support::error::{Error, Result};
use crate::support::fsutil;
use std::path::Path;

/// A product there is a preset for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// Octopus Deploy Server (Windows MSI, SQL Server, high availability).
    Octopus,
    /// Any server shipping archives, run by systemd, on PostgreSQL.
    Generic,
    /// upshift's own sample server (`upshift demo`).
    Sample,
}

impl Product {
    /// The preset's text.
    pub fn text(self) -> &'static str {
        match self {
            Product::Octopus => include_str!("octopus.toml"),
            Product::Generic => include_str!("generic.toml"),
            Product::Sample => include_str!("sample.toml"),
        }
    }
}

/// Writes `product`'s preset to `out`. An existing file is bad input unless
/// `force`: then nothing is written.
pub fn write(product: Product, out: &Path, force: bool) -> Result<()> {
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(Error::input(format!("{} already exists", out.display()))
            .hint("pass --force to replace it, or --out to write elsewhere; nothing was written"));
    }
    let dir = fsutil::parent(out);
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        return Err(Error::input(format!(
            "cannot write {}: {} is not a folder",
            out.display(),
            dir.display()
        ))
        .hint("create the folder first; nothing was written"));
    }
    fsutil::atomic_write(out, product.text().as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, InstanceFile};
    use crate::ErrorKind;

    const ALL: [Product; 3] = [Product::Octopus, Product::Generic, Product::Sample];

    /// Writes `text` as `upshift.toml` in a new folder and loads it.
    fn load(text: &str) -> crate::Result<config::Loaded> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upshift.toml");
        std::fs::write(&path, text).unwrap();
        config::load(&path)
    }

    #[test]
    fn writes_each_preset_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        for product in ALL {
            let out = dir.path().join(format!("{product:?}.toml"));
            write(product, &out, false).unwrap();
            assert_eq!(std::fs::read_to_string(&out).unwrap(), product.text());

            std::fs::write(&out, "mine").unwrap();
            let err = write(product, &out, false).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Input);
            assert!(err.to_string().contains("already exists"), "{err}");
            assert!(err.hint_text().unwrap().contains("--force"));
            assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");

            write(product, &out, true).unwrap();
            assert_eq!(std::fs::read_to_string(&out).unwrap(), product.text());
        }
        let err = write(Product::Sample, &dir.path().join("no/such/x.toml"), false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }

    #[test]
    fn the_sample_and_generic_presets_load() {
        for product in [Product::Sample, Product::Generic] {
            let loaded = load(product.text()).unwrap_or_else(|e| panic!("{product:?}: {e}"));
            assert!(loaded.file.keys.is_some() && !loaded.file.checks.is_empty());
        }
    }

    /// The Octopus preset without the sections of the `command` database
    /// driver and of HA nodes, which this loader does not know yet:
    /// `[database]` becomes a SQLite stub, `[ssh]` and `[[nodes]]` go.
    fn octopus_without_database_and_nodes() -> String {
        let mut doc: toml::Table = toml::from_str(Product::Octopus.text()).unwrap();
        for section in ["database", "ssh", "nodes"] {
            assert!(doc.remove(section).is_some(), "no [{section}]");
        }
        let stub: toml::Table = toml::from_str("kind = \"sqlite\"\npath = \"db.sqlite\"").unwrap();
        doc.insert("database".into(), toml::Value::Table(stub));
        toml::to_string(&doc).unwrap()
    }

    #[test]
    fn the_octopus_preset_loads_but_for_database_and_nodes() {
        let loaded = load(&octopus_without_database_and_nodes()).unwrap();
        let file: &InstanceFile = &loaded.file;
        assert_eq!(file.release.format, config::ReleaseFormat::Octopus);
        assert_eq!(file.release.verify, config::Verify::Sha256);
        let config::MaintenanceConfig::Http { on, headers, .. } = &file.maintenance else {
            panic!("maintenance is not http")
        };
        assert_eq!(
            on.url,
            "https://octopus.example.com/api/maintenanceconfiguration"
        );
        assert_eq!(
            on.body,
            Some(serde_json::json!({ "Id": "maintenance", "IsInMaintenanceMode": true }))
        );
        assert!(matches!(
            headers.get("X-Octopus-ApiKey"),
            Some(config::HeaderValue::Secret(s)) if s.env.as_deref() == Some("OCTOPUS_API_KEY")
        ));
        assert_eq!(file.drain.as_ref().unwrap().pointer, "/TotalResults");
        let config::ServiceConfig::Command {
            before_stop,
            after_start,
            ..
        } = &file.service
        else {
            panic!("service is not command")
        };
        assert_eq!(before_stop[0][1..3], ["watchdog", "--delete"]);
        assert_eq!(after_start[1][1..3], ["watchdog", "--create"]);
        let config::InstallConfig::Command { run, activate, .. } = &file.install else {
            panic!("install is not command")
        };
        assert!(run[4].contains("{artifact}") && activate.as_ref().unwrap()[4].contains("msiexec"));
        let keys = file.keys.as_ref().unwrap();
        let pointers: Vec<_> = keys.sources.iter().map(|s| s.pointer.as_deref()).collect();
        assert_eq!(pointers, [Some("/MasterKey"), Some("/LicenseText")]);
        let licence = file.licence.as_ref().unwrap();
        assert_eq!(licence.covers, config::LicenceCovers::Version);
        assert_eq!(
            licence.pointer.as_deref(),
            Some("/MaximumAvailableVersionCoveredByLicense")
        );
        let config::MigrationConfig::Command { run, .. } = &file.migration else {
            panic!("migration is not command")
        };
        assert_eq!(
            run[1..],
            ["database", "--instance=OctopusServer", "--upgrade"]
        );
        assert_eq!(file.checks.len(), 2);
    }

    #[test]
    fn the_octopus_preset_names_its_database_and_nodes() {
        let doc: toml::Table = toml::from_str(Product::Octopus.text()).unwrap();
        let db = doc["database"].as_table().unwrap();
        assert_eq!(db["kind"].as_str(), Some("command"));
        for (field, statement) in [
            (
                "backup",
                "BACKUP DATABASE [Octopus] TO DISK = N'{backup}' WITH COPY_ONLY, CHECKSUM",
            ),
            (
                "verify",
                "RESTORE VERIFYONLY FROM DISK = N'{backup}' WITH CHECKSUM",
            ),
            (
                "restore",
                "RESTORE DATABASE [Octopus] FROM DISK = N'{backup}' WITH REPLACE",
            ),
        ] {
            let argv = db[field].as_array().unwrap();
            assert_eq!(argv[0].as_str(), Some("sqlcmd"));
            assert!(argv.iter().any(|a| a.as_str() == Some("-b")));
            assert_eq!(argv.last().unwrap().as_str(), Some(statement));
        }
        assert_eq!(
            db["env"]["SQLCMDPASSWORD"]["env"].as_str(),
            Some("OCTOPUS_SQL_PASSWORD")
        );
        let nodes = doc["nodes"].as_array().unwrap();
        let names: Vec<_> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["octo-1", "octo-2"]);
        assert_eq!(doc["ssh"]["config"].as_str(), Some("ssh_config"));
    }
}
