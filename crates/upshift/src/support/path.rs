//! Paths in the instance file, resolved against the file's own folder.
//!
//! A relative path in `upshift.toml` means "relative to this file", not to
//! wherever the operator happens to stand. [`FilePath`] does that while the
//! file is parsed: the loader sets the base folder for the current thread,
//! and every `FilePath` joins itself to it as it is deserialized.

use serde::{Deserialize, Deserializer};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

thread_local! {
    static BASE: RefCell<PathBuf> = RefCell::new(PathBuf::new());
}

/// A path from the instance file, already made absolute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilePath(PathBuf);

impl FilePath {
    /// The absolute path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Wraps a path that is already absolute (used by code, not by the file).
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        FilePath(path.into())
    }
}

impl<'de> Deserialize<'de> for FilePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = PathBuf::deserialize(d)?;
        Ok(FilePath(BASE.with(|b| b.borrow().join(raw))))
    }
}

/// Runs `f` with relative paths resolved against `base`.
pub(crate) fn with_base<T>(base: &Path, f: impl FnOnce() -> T) -> T {
    let old = BASE.with(|b| b.replace(base.to_path_buf()));
    let out = f();
    BASE.with(|b| b.replace(old));
    out
}
