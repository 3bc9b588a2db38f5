//! Versions side by side, and an atomic `current` link.
//!
//! Layout under the install root:
//!
//! ```text
//! <root>/versions/<v>/          one folder per staged version
//! <root>/versions/.<v>.staged   (command installs) written once the command succeeded
//! <root>/current -> versions/<v>  relative symlink to the version in use
//! ```
//!
//! Staging a new version never touches the running one, so it happens
//! before the maintenance window. A version counts as staged only when it is
//! complete: an archive is unpacked beside its folder and renamed into place
//! (see [`crate::drivers::archive`]); a command install gets a marker file after it
//! exits 0 (see `command.rs`). Switching versions is one `rename(2)` of a new
//! symlink over `current`, so a crash leaves either the old or the new link,
//! never none; switching to the version already current does nothing, so a
//! resumed run can simply do it again. The link is relative so the root can
//! be moved or mounted elsewhere.
//!
//! Some installers can only install in place (an MSI): a command install
//! then keeps the installer in `versions/<v>` when staging, and its
//! `activate` command runs it at switch time, inside the window, before the
//! link moves ([`Install::activate`]); going back activates the old version.

mod command;

use crate::config::InstallConfig;
use crate::drivers::archive;
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use crate::support::template::Vars;
use crate::Version;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The install method of an instance.
#[derive(Debug, Clone)]
pub struct Install {
    root: PathBuf,
    instance_dir: PathBuf,
    method: Method,
}

#[derive(Debug, Clone)]
enum Method {
    Archive,
    Command {
        run: Vec<String>,
        activate: Option<Vec<String>>,
        timeout: Duration,
    },
}

impl Install {
    /// `base` plus the placeholders that hold for every version installed
    /// here: `{root}` and `{current}`.
    pub fn node_vars(&self, base: &Vars) -> Vars {
        let mut vars = base.clone();
        let root = self.root();
        vars.set("root", root.display().to_string())
            .set("current", root.join("current").display().to_string());
        vars
    }

    /// `base` plus the placeholders of version `to` installed here:
    /// `{version}`, `{dir}`, `{root}`, `{current}` and, with `from`, `{from}`.
    pub fn version_vars(&self, base: &Vars, from: Option<&Version>, to: &Version) -> Vars {
        let mut vars = self.node_vars(base);
        vars.set("version", to.to_string())
            .set("dir", self.version_dir(to).display().to_string());
        if let Some(from) = from {
            vars.set("from", from.to_string());
        }
        vars
    }

    /// The install method from `[install]`; commands run in `instance_dir`.
    pub fn new(cfg: &InstallConfig, instance_dir: &Path) -> Install {
        let method = match cfg {
            InstallConfig::Archive { .. } => Method::Archive,
            InstallConfig::Command {
                run,
                activate,
                timeout,
                ..
            } => Method::Command {
                run: run.clone(),
                activate: activate.clone(),
                timeout: *timeout,
            },
        };
        Install {
            root: cfg.root().to_path_buf(),
            instance_dir: instance_dir.to_path_buf(),
            method,
        }
    }

    /// The install root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/versions/<v>`.
    pub fn version_dir(&self, v: &Version) -> PathBuf {
        self.versions().join(v.to_string())
    }

    fn versions(&self) -> PathBuf {
        self.root.join("versions")
    }

    fn current_link(&self) -> PathBuf {
        self.root.join("current")
    }

    /// The version `<root>/current` points at; `None` when there is no link.
    pub fn current(&self) -> Result<Option<Version>> {
        let link = self.current_link();
        let target = match std::fs::read_link(&link) {
            Ok(target) => target,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::failed(format!("cannot read the link {}", link.display()))
                    .caused_by(e)
                    .hint("`current` must be a symlink to versions/<version>; move it aside and let upshift create it"))
            }
        };
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.parse().map(Some).map_err(|_| {
            Error::failed(format!(
                "{} points at {}, which is not a version folder",
                link.display(),
                target.display()
            ))
            .hint("point it at versions/<version>")
        })
    }

    /// The staged versions, oldest first.
    pub fn installed(&self) -> Result<Vec<Version>> {
        let dir = self.versions();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::failed(format!("cannot list {}", dir.display())).caused_by(e))
            }
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.context(|| format!("cannot list {}", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let candidate = match name.strip_prefix('.') {
                Some(marker) => marker.strip_suffix(command::MARKER_SUFFIX),
                None => Some(name),
            };
            if let Some(v) = candidate.and_then(|c| c.parse::<Version>().ok()) {
                if self.is_staged(&v) && !found.contains(&v) {
                    found.push(v);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// Whether staging needs the verified release artifact: archive installs
    /// unpack it; command installs get it as `{artifact}` when `run` names it.
    pub fn needs_artifact(&self) -> bool {
        match &self.method {
            Method::Archive => true,
            Method::Command { run, .. } => run.iter().any(|a| a.contains("{artifact}")),
        }
    }

    /// Whether `v` is completely installed and ready to switch to.
    pub fn is_staged(&self, v: &Version) -> bool {
        match self.method {
            Method::Archive => self.version_dir(v).is_dir(),
            Method::Command { .. } => command::marker(&self.versions(), v).exists(),
        }
    }

    /// Installs `v` beside the others and returns its folder; does nothing
    /// if it is already staged. `artifact` is the verified release archive
    /// (required by archive installs); `vars` holds `{version}`.
    pub fn stage(&self, v: &Version, artifact: Option<&Path>, vars: &Vars) -> Result<PathBuf> {
        let dir = self.version_dir(v);
        if self.is_staged(v) {
            return Ok(dir);
        }
        match &self.method {
            Method::Archive => {
                let artifact = artifact.ok_or_else(|| {
                    Error::failed(format!(
                        "installing {v}: an archive install needs the release archive"
                    ))
                })?;
                archive::unpack(artifact, &dir)?;
            }
            Method::Command { run, timeout, .. } => {
                let vars = self.vars_for(v, vars);
                let current = self.current()?;
                command::stage(&command::Job {
                    version: v,
                    dir: &dir,
                    is_current: current.as_ref() == Some(v),
                    argv: &vars.render_all(run),
                    cwd: &self.instance_dir,
                    timeout: *timeout,
                })?;
            }
        }
        Ok(dir)
    }

    /// Runs `install.activate` for `v` (templated with `vars`, `{dir}` being
    /// `v`'s folder); returns whether there was one. Called before `current`
    /// moves to `v`, so a link at `v` means `v` was activated.
    pub fn activate(&self, v: &Version, vars: &Vars) -> Result<bool> {
        let Method::Command {
            activate: Some(activate),
            timeout,
            ..
        } = &self.method
        else {
            return Ok(false);
        };
        let argv = self.vars_for(v, vars).render_all(activate);
        let what = format!("install.activate for {v}");
        crate::support::cmd::run_ok(&argv, &self.instance_dir, *timeout, &what)?;
        Ok(true)
    }

    fn vars_for(&self, v: &Version, vars: &Vars) -> Vars {
        let mut vars = vars.clone();
        vars.set("dir", self.version_dir(v).to_string_lossy())
            .set("root", self.root.to_string_lossy());
        vars
    }

    /// Points `current` at `v`, atomically; a no-op if it already does.
    pub fn switch(&self, v: &Version) -> Result<()> {
        if !self.is_staged(v) {
            return Err(Error::failed(format!(
                "cannot switch {} to {v}: it is not staged in {}",
                self.root.display(),
                self.versions().display()
            ))
            .hint("stage the version first (the upgrade does); nothing was switched"));
        }
        let target = Path::new("versions").join(v.to_string());
        let link = self.current_link();
        if std::fs::read_link(&link).is_ok_and(|t| t == target) {
            return Ok(());
        }
        let tmp = self
            .root
            .join(format!(".current.tmp-{}", std::process::id()));
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::failed(format!("cannot remove {}", tmp.display())).caused_by(e))
            }
            _ => {}
        }
        std::os::unix::fs::symlink(&target, &tmp)
            .context(|| format!("cannot create the link {}", tmp.display()))?;
        crate::support::failpoint::hit("switch-link")?;
        if let Err(e) = std::fs::rename(&tmp, &link) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::failed(format!("cannot replace {}", link.display()))
                .caused_by(e)
                .hint("`current` must be a symlink (not a folder); move it aside and try again"));
        }
        fsutil::sync_dir(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FilePath;
    use crate::drivers::archive::fixtures::{tar_gz, Item};
    use crate::ErrorKind;
    use std::os::unix::fs::MetadataExt;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn archive_install(root: &Path) -> Install {
        let cfg = InstallConfig::Archive {
            root: FilePath::from_path(root),
        };
        Install::new(&cfg, root)
    }

    fn release(dir: &Path, version: &str) -> PathBuf {
        let path = dir.join(format!("{version}.tar.gz"));
        tar_gz(
            &path,
            &[Item::File("bin/server", version.as_bytes(), 0o755)],
        );
        path
    }

    #[test]
    fn stages_archives_side_by_side_and_switches() {
        let tmp = tempfile::tempdir().unwrap();
        let install = archive_install(&tmp.path().join("app"));
        assert_eq!(install.current().unwrap(), None);
        assert!(install.installed().unwrap().is_empty());
        for version in ["2026.2.0", "2026.1.0"] {
            let dir = install
                .stage(
                    &v(version),
                    Some(&release(tmp.path(), version)),
                    &Vars::default(),
                )
                .unwrap();
            assert_eq!(dir, install.version_dir(&v(version)));
            assert_eq!(
                std::fs::read(dir.join("bin/server")).unwrap(),
                version.as_bytes()
            );
        }
        assert_eq!(install.installed().unwrap(), [v("2026.1.0"), v("2026.2.0")]);

        // Staging again does not touch what is there.
        let dir = install.version_dir(&v("2026.1.0"));
        std::fs::write(dir.join("local-change"), b"x").unwrap();
        let other = release(tmp.path(), "2026.2.0");
        install
            .stage(&v("2026.1.0"), Some(&other), &Vars::default())
            .unwrap();
        assert_eq!(std::fs::read(dir.join("bin/server")).unwrap(), b"2026.1.0");
        assert!(dir.join("local-change").exists());

        install.switch(&v("2026.1.0")).unwrap();
        let link = install.root().join("current");
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("versions/2026.1.0")
        );
        assert_eq!(std::fs::read(link.join("bin/server")).unwrap(), b"2026.1.0");
        install.switch(&v("2026.2.0")).unwrap();
        assert_eq!(install.current().unwrap(), Some(v("2026.2.0")));
        assert_eq!(std::fs::read(link.join("bin/server")).unwrap(), b"2026.2.0");
    }

    #[test]
    fn switch_is_idempotent_and_leaves_no_temporary_link() {
        let tmp = tempfile::tempdir().unwrap();
        let install = archive_install(&tmp.path().join("app"));
        install
            .stage(
                &v("1.0.0"),
                Some(&release(tmp.path(), "1.0.0")),
                &Vars::default(),
            )
            .unwrap();
        // A link left behind by a crash of this same process id.
        let stale = install
            .root()
            .join(format!(".current.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink("versions/0.9.0", &stale).unwrap();
        install.switch(&v("1.0.0")).unwrap();
        let link = install.root().join("current");
        let inode = std::fs::symlink_metadata(&link).unwrap().ino();
        install.switch(&v("1.0.0")).unwrap();
        assert_eq!(
            std::fs::symlink_metadata(&link).unwrap().ino(),
            inode,
            "re-created the link"
        );
        let mut names: Vec<_> = std::fs::read_dir(install.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["current", "versions"]);
    }

    #[test]
    fn refuses_to_switch_to_an_unstaged_version() {
        let tmp = tempfile::tempdir().unwrap();
        let install = archive_install(tmp.path());
        let err = install.switch(&v("3.0.0")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.to_string().contains("not staged"), "{err}");
        assert_eq!(install.current().unwrap(), None);
    }

    #[test]
    fn reports_a_current_that_is_not_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("current")).unwrap();
        let err = archive_install(tmp.path()).current().unwrap_err();
        assert!(err.to_string().contains("current"), "{err}");
    }
}
