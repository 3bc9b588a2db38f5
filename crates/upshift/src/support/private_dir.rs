//! Folders only upshift may write to: its state folder, its download
//! cache, its backups.
//!
//! Whatever upshift later trusts because it wrote it there (a verified
//! archive, a journal, a backup) is only as safe as the folder: if another
//! user can write to it, they can swap a file after upshift checked it. So
//! a folder upshift creates is made 0700 whatever the umask (the mode is
//! set after creation, not left to `mkdir` and the umask), and an existing
//! one that belongs to another user or that group or others can write to is
//! refused as bad input: nothing is changed, and the error names the folder
//! and the `chmod` that fixes it. Only the folder itself is checked, not its
//! parents: the operator chooses where it lives.

use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700, or checks the one
/// that exists; `what` names it in errors ("the state folder").
pub fn create(dir: &Path, what: &str) -> Result<()> {
    if !dir.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                let error = Error::failed(format!("cannot create {what} {}", dir.display()));
                match fsutil::unwritable(&e) {
                    true => error.into_input().hint(fsutil::UNWRITABLE_STATE),
                    false => error,
                }
                .caused_by(e)
            })?;
        std::fs::set_permissions(dir, Permissions::from_mode(0o700))
            .context(|| format!("cannot restrict {what} {}", dir.display()))?;
    }
    check(dir, what)
}

/// Refuses `dir` if another user owns it or group or others can write to
/// it; a folder that does not exist yet passes (it will be created 0700).
pub fn check(dir: &Path, what: &str) -> Result<()> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::input(format!("cannot read {what} {}", dir.display())).caused_by(e))
        }
    };
    let me = nix::unistd::geteuid().as_raw();
    let shared = meta.mode() & 0o022 != 0;
    if meta.uid() != me || shared {
        return Err(Error::input(format!(
            "{what} {} can be written by other users (owner uid {}, mode {:o}): they could swap what upshift checked",
            dir.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ))
        .hint(format!(
            "`chown {me} {dir}` and `chmod 700 {dir}` (or point upshift elsewhere); nothing was changed",
            dir = dir.display()
        )));
    }
    Ok(())
}
