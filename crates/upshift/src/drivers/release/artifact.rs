//! A verified release artifact: a private copy nobody else can change.
//!
//! The download cache is just a folder, so a file verified there can be
//! swapped before it is unpacked (the hostile review swapped an unsigned
//! archive in 5 times out of 6). So what stage uses is never the cached file
//! itself: it is copied into a fresh folder that `tempfile` makes with a
//! random name and mode 0700, and verified *there*. Unpacking, an install
//! command's `{artifact}` and the copy sent to a remote node all read that
//! copy, which only upshift can write. A copy costs one more pass over the
//! file, outside the maintenance window; holding one open descriptor from
//! verification to unpacking would not reach an install command or ssh.
//! The folder is removed when the [`Artifact`] is dropped; one left by a
//! crash is removed by the next copy.

use crate::support::error::{Context, Result};
use crate::support::fsutil;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The name prefix of the private folders, so leftovers are recognised.
const PREFIX: &str = ".verified-";

/// A release artifact copied where only upshift can write.
#[derive(Debug)]
pub struct Artifact {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Artifact {
    /// Copies `from` into a new private folder in `cache_dir`, as `name`.
    pub(super) fn copy(from: &Path, cache_dir: &Path, name: &str) -> Result<Artifact> {
        fsutil::remove_leftovers(cache_dir, PREFIX)?;
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(cache_dir)
            .context(|| format!("cannot create a private folder in {}", cache_dir.display()))?;
        let path = dir.path().join(name);
        let mut source = File::open(from).context(|| format!("cannot open {}", from.display()))?;
        let mut copy = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .context(|| format!("cannot create {}", path.display()))?;
        std::io::copy(&mut source, &mut copy)
            .context(|| format!("cannot copy {} to {}", from.display(), path.display()))?;
        Ok(Artifact { _dir: dir, path })
    }

    /// The private copy.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
