//! What a clone copies from production: its database (a new SQLite file or
//! a new PostgreSQL database restored from the backup), the installed
//! version, the `[clone]` files, and the keys from the verified bundle.

use crate::config::CloneConfig;
use crate::drivers::db::cloneable;
use crate::drivers::keys::KeyBundle;
use crate::engine::instance::Instance;
use crate::engine::state::BackupRecord;
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use crate::support::version::Version;
use std::path::Path;

use super::file::apply;

/// What `{db}` stands for: the clone's SQLite file, or its PostgreSQL name;
/// refused for a database upshift cannot make a copy of (a command database).
pub(super) fn clone_db(prod: &Instance, dir: &Path, name: &str) -> Result<String> {
    cloneable(prod.db.as_ref())?.clone_name(&prod.loaded.dir, dir, name)
}

/// Copies a file or folder (links as links, modes kept), applying the
/// replacements to every text file.
pub(super) fn copy_tree(src: &Path, dst: &Path, replace: &[(String, String)]) -> Result<()> {
    let meta = std::fs::symlink_metadata(src)
        .input_context(|| format!("clone.copy: cannot read {}", src.display()))?;
    std::fs::create_dir_all(fsutil::parent(dst))
        .context(|| format!("cannot create {}", fsutil::parent(dst).display()))?;
    if meta.file_type().is_symlink() {
        let target =
            std::fs::read_link(src).context(|| format!("cannot read link {}", src.display()))?;
        return std::os::unix::fs::symlink(target, dst)
            .context(|| format!("cannot create link {}", dst.display()));
    }
    if meta.is_dir() {
        std::fs::create_dir_all(dst).context(|| format!("cannot create {}", dst.display()))?;
        std::fs::set_permissions(dst, meta.permissions())
            .context(|| format!("cannot set the mode of {}", dst.display()))?;
        let entries =
            std::fs::read_dir(src).context(|| format!("cannot list {}", src.display()))?;
        for entry in entries {
            let entry = entry.context(|| format!("cannot list {}", src.display()))?;
            copy_tree(&entry.path(), &dst.join(entry.file_name()), replace)?;
        }
        return Ok(());
    }
    let bytes = std::fs::read(src).context(|| format!("cannot read {}", src.display()))?;
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => apply(&text, replace).into_bytes(),
        Err(binary) => binary.into_bytes(),
    };
    use std::os::unix::fs::PermissionsExt;
    fsutil::atomic_write(dst, &bytes, meta.permissions().mode() & 0o7777)
}

/// Copies production's installed version into the clone's root and points
/// `current` at it.
pub(super) fn copy_version(prod: &Instance, clone: &Instance, version: &Version) -> Result<()> {
    let name = version.to_string();
    let (from, to) = (
        prod.install.root().join("versions"),
        clone.install.root().join("versions"),
    );
    let entries = std::fs::read_dir(&from).context(|| format!("cannot list {}", from.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("cannot list {}", from.display()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if file == name || file.starts_with(&format!(".{name}.")) {
            copy_tree(&entry.path(), &to.join(&file), &[])?;
        }
    }
    let link = clone.install.root().join("current");
    std::os::unix::fs::symlink(Path::new("versions").join(&name), &link)
        .context(|| format!("cannot create link {}", link.display()))
}

/// Writes the `[clone] keys` entries of production's key bundle (0600).
pub(super) fn write_keys(
    prod: &Instance,
    cfg: &CloneConfig,
    record: &BackupRecord,
    dir: &Path,
) -> Result<()> {
    let keys_cfg = prod.loaded.file.keys.as_ref().ok_or_else(|| {
        Error::input("[clone] keys needs a [keys] section").hint("see docs/rehearsal.md")
    })?;
    let bundle = KeyBundle::open(keys_cfg, &record.path)?;
    for (name, rel) in &cfg.keys {
        let value = bundle.get(name).ok_or_else(|| {
            Error::input(format!("key bundle #{} holds no key `{name}`", record.id))
                .hint("take a new one with `upshift backup keys`, or pass --fresh-backup")
        })?;
        let path = dir.join(rel);
        std::fs::create_dir_all(fsutil::parent(&path))
            .context(|| format!("cannot create {}", fsutil::parent(&path).display()))?;
        fsutil::atomic_write(&path, value, 0o600)?;
    }
    Ok(())
}
