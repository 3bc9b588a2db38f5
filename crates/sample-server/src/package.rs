//! Packaging the one built binary as a release archive, and finding that
//! binary from tests and from `upshift demo`.
//!
//! An archive holds exactly `bin/sample-server` (mode 0755) and
//! `release.toml`, with fixed mtimes and owners so the same inputs give the
//! same bytes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::manifest::Manifest;

/// The binary's name inside an archive and on disk.
pub const BINARY_NAME: &str = "sample-server";

/// Fixed mtime of archive entries (2026-01-01T00:00:00Z).
const MTIME: u64 = 1_767_225_600;

/// The archive file name of a release version.
pub fn archive_name(version: &str) -> String {
    format!("sample-server-{version}.tar.gz")
}

/// Writes `out_dir/sample-server-<version>.tar.gz` and returns its path.
pub fn package_release(server_bin: &Path, manifest: &Manifest, out_dir: &Path) -> Result<PathBuf> {
    let binary = std::fs::read(server_bin)
        .with_context(|| format!("reading server binary {}", server_bin.display()))?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    {
        let mut tar = tar::Builder::new(&mut gz);
        append(&mut tar, &format!("bin/{BINARY_NAME}"), 0o755, &binary)?;
        append(
            &mut tar,
            "release.toml",
            0o644,
            manifest.to_toml().as_bytes(),
        )?;
        tar.finish()?;
    }
    let bytes = gz.finish()?;
    let out = out_dir.join(archive_name(&manifest.version));
    crate::fsutil::write_atomic(&out, &bytes)?;
    Ok(out)
}

fn append<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mode: u32,
    data: &[u8],
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, data)
        .with_context(|| format!("adding {path} to the archive"))
}

/// Finds the built `sample-server` binary: `$SAMPLE_SERVER_BIN`, else next to
/// the running executable or in its parent folder (test binaries run from
/// `target/<profile>/deps/`).
pub fn locate_server_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SAMPLE_SERVER_BIN") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("SAMPLE_SERVER_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    let exe = std::env::current_exe().context("finding the running executable")?;
    let mut searched = Vec::new();
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join(BINARY_NAME);
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(candidate.display().to_string());
    }
    bail!(
        "the sample-server binary is not built (looked at {}): build it with `cargo build --workspace`, or set SAMPLE_SERVER_BIN",
        searched.join(", ")
    )
}

/// Unpacks a release archive into `dest` (e.g. `versions/<v>`) and returns
/// the path of its binary.
pub fn unpack_release(archive: &Path, dest: &Path) -> Result<PathBuf> {
    let file =
        std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.set_preserve_permissions(true);
    tar.unpack(dest)
        .with_context(|| format!("unpacking {} into {}", archive.display(), dest.display()))?;
    Ok(dest.join("bin").join(BINARY_NAME))
}
