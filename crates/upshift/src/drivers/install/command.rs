//! Command installs: the instance's own command puts `{version}` into `{dir}`.
//!
//! upshift cannot see when such a command is done, only that it exited 0;
//! so success is recorded in a marker file (`versions/.<v>.staged`, written
//! atomically after the exit), and a version without one is not staged, even
//! if its folder exists. A folder left by a command that failed or was
//! interrupted is cleared before the command runs again (never the version
//! `current` points at), so every attempt starts from an empty `{dir}`,
//! which exists when the command starts.

use crate::support::error::{Context, Result};
use crate::support::{cmd, fsutil};
use crate::Version;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Ends the marker file's name: `.<version>.staged`.
pub(super) const MARKER_SUFFIX: &str = ".staged";

/// The marker that says `v` is staged.
pub(super) fn marker(versions: &Path, v: &Version) -> PathBuf {
    versions.join(format!(".{v}{MARKER_SUFFIX}"))
}

/// One run of the install command.
pub(super) struct Job<'a> {
    pub version: &'a Version,
    /// `{dir}`: `<root>/versions/<v>`.
    pub dir: &'a Path,
    /// Whether `current` points at this version (its folder is then kept).
    pub is_current: bool,
    /// The rendered command line.
    pub argv: &'a [String],
    pub cwd: &'a Path,
    pub timeout: Duration,
}

/// Runs the command into an empty `{dir}` and records success.
pub(super) fn stage(job: &Job<'_>) -> Result<()> {
    let dir = job.dir;
    if dir.exists() && !job.is_current {
        std::fs::remove_dir_all(dir)
            .context(|| format!("cannot clear the unfinished install {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    let what = format!("install.run for {}", job.version);
    cmd::run_ok(job.argv, job.cwd, job.timeout, &what).map_err(|e| match e.hint_text() {
        Some(_) => e,
        None => e.hint(
            "fix the install command; the version is not staged and the next run starts it again",
        ),
    })?;
    let versions = fsutil::parent(dir);
    fsutil::atomic_write(&marker(versions, job.version), b"staged\n", 0o644)
}

#[cfg(test)]
mod tests {
    use crate::config::{FilePath, InstallConfig};
    use crate::drivers::install::Install;
    use crate::support::template::Vars;
    use crate::{ErrorKind, Version};
    use std::path::Path;
    use std::time::Duration;

    fn command_install(root: &Path, script: &str, timeout: Duration) -> Install {
        let cfg = InstallConfig::Command {
            root: FilePath::from_path(root),
            run: vec![
                "sh".into(),
                "-c".into(),
                script.into(),
                "sh".into(),
                "{version}".into(),
                "{dir}".into(),
                "{root}".into(),
            ],
            activate: None,
            timeout,
        };
        Install::new(&cfg, root)
    }

    fn vars(v: &Version) -> Vars {
        let mut vars = Vars::default();
        vars.set("version", v.to_string());
        vars
    }

    #[test]
    fn marks_a_version_staged_only_after_the_command_succeeds() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("app");
        let v: Version = "2026.2.0".parse().unwrap();
        let marker = root.join("versions/.2026.2.0.staged");

        let failing = command_install(
            &root,
            "echo half > \"$2/half\"; echo broken >&2; exit 3",
            Duration::from_secs(20),
        );
        let err = failing.stage(&v, None, &vars(&v)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.to_string().contains("broken"), "{err}");
        assert!(root.join("versions/2026.2.0/half").exists());
        assert!(!failing.is_staged(&v) && !marker.exists());
        assert!(failing.installed().unwrap().is_empty());
        assert!(failing.switch(&v).is_err());

        let script = "test ! -e \"$2/half\" && echo \"$1 $3\" > \"$2/VERSION\"";
        let good = command_install(&root, script, Duration::from_secs(20));
        let dir = good.stage(&v, None, &vars(&v)).unwrap();
        assert!(marker.exists());
        let expected = format!("2026.2.0 {}\n", root.display());
        assert_eq!(
            std::fs::read_to_string(dir.join("VERSION")).unwrap(),
            expected
        );
        assert_eq!(good.installed().unwrap(), std::slice::from_ref(&v));

        // Staged: the command does not run again.
        let never = command_install(&root, "exit 1", Duration::from_secs(20));
        never.stage(&v, None, &vars(&v)).unwrap();
        never.switch(&v).unwrap();
        assert_eq!(never.current().unwrap(), Some(v));
    }

    #[test]
    fn a_hung_command_is_not_staged() {
        let tmp = tempfile::tempdir().unwrap();
        let v: Version = "1.0.0".parse().unwrap();
        let install = command_install(tmp.path(), "sleep 30", Duration::from_millis(300));
        let err = install.stage(&v, None, &vars(&v)).unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(!install.is_staged(&v));
    }

    #[test]
    fn activate_runs_for_the_version_it_is_given() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("app");
        let log = tmp.path().join("activated");
        let script = |body: &str| vec!["sh".into(), "-c".into(), body.into(), "sh".into()];
        let mut run = script("cp \"$1\" \"$2/\"");
        run.extend(["{artifact}".into(), "{dir}".into()]);
        let mut activate = script(&format!("echo \"$1 $2 $3\" >> {}", log.display()));
        activate.extend(["{version}".into(), "{dir}".into(), "{from}".into()]);
        let cfg = InstallConfig::Command {
            root: FilePath::from_path(&root),
            run,
            activate: Some(activate),
            timeout: Duration::from_secs(20),
        };
        let install = Install::new(&cfg, tmp.path());
        assert!(install.needs_artifact());
        let artifact = tmp.path().join("Octopus.2026.2.0-x64.msi");
        std::fs::write(&artifact, "msi").unwrap();
        let (old, new) = ("2026.1.0".parse().unwrap(), "2026.2.0".parse().unwrap());
        let mut v = vars(&new);
        v.set("artifact", artifact.to_string_lossy())
            .set("from", "2026.1.0");
        let dir = install.stage(&new, None, &v).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("Octopus.2026.2.0-x64.msi")).unwrap(),
            "msi"
        );

        assert!(install.activate(&new, &v).unwrap());
        let mut back = vars(&old);
        back.set("from", "2026.2.0");
        assert!(install.activate(&old, &back).unwrap());
        let versions = root.join("versions");
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            format!(
                "2026.2.0 {0}/2026.2.0 2026.1.0\n2026.1.0 {0}/2026.1.0 2026.2.0\n",
                versions.display()
            )
        );

        let plain = command_install(&root, "true", Duration::from_secs(5));
        assert!(!plain.needs_artifact());
        assert!(!plain.activate(&new, &v).unwrap());
        let failing = InstallConfig::Command {
            root: FilePath::from_path(&root),
            run: script("true"),
            activate: Some(script("echo msiexec 1603 >&2; exit 1")),
            timeout: Duration::from_secs(5),
        };
        let err = Install::new(&failing, tmp.path())
            .activate(&new, &v)
            .unwrap_err();
        assert!(
            err.to_string().contains("install.activate for 2026.2.0")
                && err.to_string().contains("1603"),
            "{err}"
        );
    }
}
