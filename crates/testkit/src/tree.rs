//! A content hash of every file and link under a folder, to prove that a
//! refused command changed nothing.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Path -> hash of content (files) or target (links), for every entry under
/// `root`. SQLite's `-wal` and `-shm` side files are left out: a reader may
/// touch them without changing any data.
pub fn tree_hash(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.to_string_lossy();
        // SQLite's own journal files, and upshift's lock file beside the
        // database: they hold no data.
        if name.ends_with("-wal") || name.ends_with("-shm") || name.ends_with(".upshift-lock") {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            out.insert(rel, format!("link:{}", target.display()));
        } else if meta.is_dir() {
            out.insert(rel, "dir".into());
            walk(root, &path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            out.insert(rel, hex::encode(Sha256::digest(&bytes)));
        }
    }
}
