//! File-system writes that survive a crash and cannot be redirected,
//! small reads that cannot hang, and disk-space questions.
//!
//! The pattern for every file that must never be half-written: write a
//! temporary file in the same folder, fsync it, rename it over the target,
//! fsync the folder. The temporary file has a random name and is created
//! exclusively (`tempfile`: `O_CREAT|O_EXCL`, which never follows a
//! symlink), so nobody can plant a link where upshift is about to write;
//! the rename replaces a link at the target itself rather than writing
//! through it. Folders made on the way are 0700.

use crate::support::error::{Context, Error, Result};
use sha2::{Digest, Sha256};
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Writes `bytes` to `path` atomically with the given mode (e.g. 0o600).
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent(path);
    create_dirs(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let written = tmp.path().to_path_buf();
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .and_then(|_| tmp.write_all(bytes))
        .and_then(|_| tmp.as_file().sync_all())
        .context(|| format!("cannot write {}", written.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .context(|| format!("cannot rename into {}", path.display()))?;
    sync_dir(dir)
}

/// Creates `dir` and any missing parents, each new one 0700 (folders that
/// exist are left as they are).
pub fn create_dirs(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .context(|| format!("cannot create {}", dir.display()))
}

/// Reads a small regular file: anything else is refused before a byte is
/// read (a FIFO would block for ever, `/dev/zero` never ends), and so is a
/// file over `cap` bytes. `what` names the file's role in errors.
pub fn read_small(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    let fail = |why: String| {
        Error::input(format!("{what}: {} {why}", path.display()))
            .hint("name a small regular file that holds just the value; nothing was changed")
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .input_context(|| format!("{what}: cannot read {}", path.display()))?;
    let meta = file
        .metadata()
        .input_context(|| format!("{what}: cannot read {}", path.display()))?;
    if !meta.is_file() {
        return Err(fail("is not a regular file".into()));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .input_context(|| format!("{what}: cannot read {}", path.display()))?;
    if bytes.len() as u64 > cap {
        return Err(fail(format!("is larger than {} KiB", cap / 1024)));
    }
    Ok(bytes)
}

/// Removes what an interrupted job (a crash) left in `parent`: every entry
/// whose name starts with `prefix`.
pub fn remove_leftovers(parent: &Path, prefix: &str) -> Result<()> {
    let listing =
        std::fs::read_dir(parent).context(|| format!("cannot list {}", parent.display()))?;
    for entry in listing.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let path = entry.path();
            match entry.file_type().is_ok_and(|t| t.is_dir()) {
                true => std::fs::remove_dir_all(&path),
                false => std::fs::remove_file(&path),
            }
            .context(|| format!("cannot remove the leftover {}", path.display()))?;
        }
    }
    Ok(())
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
