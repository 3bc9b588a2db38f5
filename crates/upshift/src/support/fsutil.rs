//! File-system writes that survive a crash, and disk-space questions.
//!
//! The pattern for every file that must never be half-written: write a
//! temporary file in the same folder, fsync it, rename it over the target,
//! fsync the folder.

use crate::support::error::{Context, Error, Result};
use sha2::{Digest, Sha256};
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Writes `bytes` to `path` atomically with the given mode (e.g. 0o600).
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent(path);
    std::fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).context(|| format!("cannot rename into {}", path.display()))?;
    sync_dir(dir)
}

/// Fsyncs a folder so that a rename or create in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .context(|| format!("cannot sync folder {}", dir.display()))
}

/// The folder a path is in (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Bytes available to an unprivileged writer on the file system of `path`
/// (the nearest existing ancestor is asked).
pub fn free_space(path: &Path) -> Result<u64> {
    let mut probe = path;
    while !probe.exists() {
        probe = match probe.parent() {
            Some(p) => p,
            None => break,
        };
    }
    fs2::available_space(probe).context(|| format!("cannot read free space of {}", probe.display()))
}

/// SHA-256 of a file, in lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 of bytes, in lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Creates `dir` and any missing parents with mode 0700. A folder that
/// cannot be made here (a file in its place, read-only, full, not ours) is
/// bad input: the operator must choose another.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            let error = Error::failed(format!("cannot create the state folder {}", dir.display()));
            match unwritable(&e) {
                true => error.into_input().hint(UNWRITABLE_STATE),
                false => error,
            }
            .caused_by(e)
        })
}

/// What to do about a state folder that cannot be written.
pub const UNWRITABLE_STATE: &str = "upshift needs a state folder it can write, on a file system with free space: make room or fix its permissions, or name another with --state-dir (or [instance] state_dir); nothing was changed";

/// Whether `e` says the place cannot be written at all (rather than that
/// something failed there): not a folder, read-only, full, not permitted.
pub fn unwritable(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::NotADirectory
            | K::AlreadyExists
            | K::PermissionDenied
            | K::ReadOnlyFilesystem
            | K::StorageFull
            | K::QuotaExceeded
    )
}
