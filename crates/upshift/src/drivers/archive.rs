//! Safe unpacking of release archives (tar.gz and zip).
//!
//! A release archive comes from the network, so it is treated as hostile
//! even after its signature checked out. Unpacking happens in two passes:
//! the first reads every entry and rejects the archive as a whole if any
//! entry could write outside the target folder (an absolute path, a `..`, a
//! symlink or hardlink that leads outside, an entry beneath a symlink) or
//! would create a device file or fifo; only then does the second pass write.
//! Symlink targets are resolved against the archive's own symlinks, so a
//! chain of individually harmless links cannot climb out either.
//!
//! Everything is written into a fresh temporary folder beside `dest` and
//! flushed to disk, then renamed to `dest`: a folder named `dest` only ever
//! appears complete, and any failure leaves no `dest` and no temporary
//! folder (the [`tempfile::TempDir`] guard removes it).

use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use flate2::read::MultiGzDecoder;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

const MALFORMED: &str = "the release is malformed or malicious; nothing was installed";

/// Symlink hops allowed while resolving one target (as the kernel's ELOOP).
const MAX_HOPS: usize = 40;

/// The longest symlink target accepted (Linux's PATH_MAX).
const PATH_MAX: u64 = 4096;

/// The unix file-type bits of a zip entry's mode.
const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// Unpacks a tar.gz or zip `archive` into `dest`, which must not exist yet.
pub fn unpack(archive: &Path, dest: &Path) -> Result<()> {
    let file = File::open(archive)
        .context(|| format!("cannot open release archive {}", archive.display()))?;
    let format = Format::detect(&file, archive)?;
    if dest.symlink_metadata().is_ok() {
        return Err(Error::failed(format!(
            "cannot unpack {} into {}: it already exists",
            archive.display(),
            dest.display()
        )));
    }
    let parent = fsutil::parent(dest);
    std::fs::create_dir_all(parent).context(|| format!("cannot create {}", parent.display()))?;
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("release");
    let prefix = format!(".{name}.unpack-");
    fsutil::remove_leftovers(parent, &prefix)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(parent)
        .context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
    let entries = match format {
        Format::TarGz => scan_tar(&file),
        Format::Zip => scan_zip(&file),
    }
    .input_context(|| format!("cannot read release archive {}", archive.display()))
    .map_err(|e| e.hint(MALFORMED))?;
    check(&entries).map_err(|(entry, reason)| {
        Error::input(format!(
            "release archive {}: entry `{entry}` {reason}",
            archive.display()
        ))
        .hint(MALFORMED)
    })?;
    (&file)
        .rewind()
        .context(|| format!("cannot read release archive {}", archive.display()))?;
    match format {
        Format::TarGz => tar::Archive::new(MultiGzDecoder::new(&file)).unpack(tmp.path()),
        Format::Zip => extract_zip(&file, tmp.path()),
    }
    .context(|| {
        format!(
            "cannot unpack {} into {}",
            archive.display(),
            tmp.path().display()
        )
    })?;
    settle(tmp.path())?;
    std::fs::rename(tmp.path(), dest)
        .context(|| format!("cannot rename into {}", dest.display()))?;
    // The folder is `dest` now: the guard must not remove anything.
    tmp.disable_cleanup(true);
    fsutil::sync_dir(parent)
}

/// Makes the unpacked folder readable by the service's user and durable.
fn settle(dir: &Path) -> Result<()> {
    std::fs::set_permissions(dir, Permissions::from_mode(0o755))
        .context(|| format!("cannot set permissions of {}", dir.display()))?;
    let handle = File::open(dir).context(|| format!("cannot open {}", dir.display()))?;
    nix::unistd::syncfs(handle.as_raw_fd())
        .context(|| format!("cannot flush {} to disk", dir.display()))
}

#[derive(Clone, Copy)]
enum Format {
    TarGz,
    Zip,
}

impl Format {
    /// Reads the magic bytes; leaves the file at its start.
    fn detect(mut file: &File, archive: &Path) -> Result<Format> {
        let mut magic = [0u8; 4];
        let n = file
            .read(&mut magic)
            .and_then(|n| file.rewind().map(|_| n))
            .context(|| format!("cannot read release archive {}", archive.display()))?;
        match &magic[..n] {
            [0x1f, 0x8b, ..] => Ok(Format::TarGz),
            b"PK\x03\x04" | b"PK\x05\x06" => Ok(Format::Zip),
            _ => Err(Error::input(format!(
                "release archive {} is neither a tar.gz nor a zip archive",
                archive.display()
            ))
            .hint(MALFORMED)),
        }
    }
}

/// What one entry would create.
enum Kind {
    File,
    Dir,
    /// Target relative to the link's own folder.
    Symlink(PathBuf),
    /// Target relative to the archive's root.
    Hardlink(PathBuf),
    /// Anything else (device, fifo, socket): always rejected.
    Special(&'static str),
}

struct Entry {
    /// The name as written in the archive, for messages.
    name: String,
    kind: Kind,
}

/// An entry that must not be unpacked: its name and why.
type Rejection = (String, String);

fn scan_tar(file: &File) -> std::io::Result<Vec<Entry>> {
    let mut archive = tar::Archive::new(MultiGzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let link = || -> std::io::Result<PathBuf> {
            Ok(entry
                .link_name()?
                .map(|l| l.into_owned())
                .unwrap_or_default())
        };
        use tar::EntryType as T;
        let kind = match entry.header().entry_type() {
            T::Regular | T::Continuous | T::GNUSparse => Kind::File,
            T::Directory => Kind::Dir,
            T::Symlink => Kind::Symlink(link()?),
            T::Link => Kind::Hardlink(link()?),
            T::XGlobalHeader => continue,
            T::Char | T::Block => Kind::Special("is a device file"),
            T::Fifo => Kind::Special("is a fifo"),
            _ => Kind::Special("has an unsupported entry type"),
        };
        let name = entry.path()?.to_string_lossy().into_owned();
        out.push(Entry { name, kind });
    }
    Ok(out)
}

fn scan_zip(file: &File) -> std::io::Result<Vec<Entry>> {
    let mut archive = zip::ZipArchive::new(file)?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = zip_name(&entry);
        let kind = match entry.unix_mode().map(|m| m & S_IFMT) {
            Some(S_IFLNK) => {
                let mut target = String::new();
                (&mut entry)
                    .take(PATH_MAX + 1)
                    .read_to_string(&mut target)?;
                if target.len() as u64 > PATH_MAX {
                    Kind::Special("is a symlink with an over-long target")
                } else {
                    Kind::Symlink(PathBuf::from(target))
                }
            }
            _ if entry.is_dir() => Kind::Dir,
            Some(S_IFDIR) => Kind::Dir,
            None | Some(0) | Some(S_IFREG) => Kind::File,
            Some(_) => Kind::Special("is a device file, fifo or socket"),
        };
        out.push(Entry { name, kind });
    }
    Ok(out)
}

/// A zip entry's name with Windows separators read as folders, so that a
/// `..\` cannot slip past the checks.
fn zip_name<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> String {
    entry.name().replace('\\', "/")
}

/// The entry's path as plain components, or why it is not a safe relative path.
fn components(name: &str) -> Result<Vec<OsString>, String> {
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err("contains `..`".into()),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path".into()),
        }
    }
    Ok(parts)
}

/// Rejects the archive if any entry could reach outside the folder.
fn check(entries: &[Entry]) -> Result<(), Rejection> {
    let reject = |e: &Entry, reason: &str| (e.name.clone(), reason.to_string());
    let mut paths = Vec::with_capacity(entries.len());
    let mut links = HashMap::new();
    for entry in entries {
        let parts = components(&entry.name).map_err(|r| reject(entry, &r))?;
        if parts.is_empty() {
            match entry.kind {
                Kind::Dir => continue,
                _ => return Err(reject(entry, "has an empty path")),
            }
        }
        match &entry.kind {
            Kind::Special(reason) => return Err(reject(entry, reason)),
            Kind::Symlink(target) => {
                links.insert(parts.clone(), target.clone());
            }
            _ => {}
        }
        paths.push((entry, parts));
    }
    let mut seen: HashMap<&[OsString], bool> = HashMap::new();
    for (entry, parts) in &paths {
        if let Some(i) = (1..parts.len()).find(|&i| links.contains_key(&parts[..i])) {
            let link = PathBuf::from_iter(&parts[..i]);
            return Err(reject(
                entry,
                &format!("lies beneath the symlink `{}`", link.display()),
            ));
        }
        let is_dir = matches!(entry.kind, Kind::Dir);
        if seen
            .insert(parts, is_dir)
            .is_some_and(|was_dir| !(was_dir && is_dir))
        {
            return Err(reject(entry, "appears more than once"));
        }
        let (start, target) = match &entry.kind {
            Kind::Symlink(t) => (&parts[..parts.len() - 1], t),
            Kind::Hardlink(t) => (&[][..], t),
            _ => continue,
        };
        let what = if matches!(entry.kind, Kind::Symlink(_)) {
            "symlink"
        } else {
            "hardlink"
        };
        if target.has_root() {
            return Err(reject(
                entry,
                &format!("is a {what} to the absolute path `{}`", target.display()),
            ));
        }
        if resolve(&links, start.to_vec(), target, &mut 0).is_none() {
            return Err(reject(
                entry,
                &format!("is a {what} to `{}`, outside the release", target.display()),
            ));
        }
    }
    Ok(())
}

/// Resolves `target` from the folder `at` inside the archive, following the
/// archive's symlinks; `None` if it leaves the archive's root or loops.
fn resolve(
    links: &HashMap<Vec<OsString>, PathBuf>,
    mut at: Vec<OsString>,
    target: &Path,
    hops: &mut usize,
) -> Option<Vec<OsString>> {
    for component in target.components() {
        match component {
            Component::Normal(part) => {
                at.push(part.to_owned());
                if let Some(next) = links.get(&at) {
                    *hops += 1;
                    if *hops > MAX_HOPS || next.has_root() {
                        return None;
                    }
                    at.pop();
                    at = resolve(links, at, next, hops)?;
                }
            }
            Component::CurDir => {}
            Component::ParentDir => {
                at.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(at)
}

/// Writes a checked zip archive into `dir`, keeping unix modes.
fn extract_zip(file: &File, dir: &Path) -> std::io::Result<()> {
    let mut archive = zip::ZipArchive::new(file)?;
    let mut dir_modes = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let path = dir.join(zip_name(&entry));
        let mode = entry.unix_mode();
        match mode.map(|m| m & S_IFMT) {
            Some(S_IFLNK) => {
                let mut target = String::new();
                entry.read_to_string(&mut target)?;
                create_parent(&path)?;
                std::os::unix::fs::symlink(target, &path)?;
            }
            _ if entry.is_dir() || mode.map(|m| m & S_IFMT) == Some(S_IFDIR) => {
                std::fs::create_dir_all(&path)?;
                if let Some(m) = mode {
                    dir_modes.push((path, m & 0o7777));
                }
            }
            _ => {
                create_parent(&path)?;
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                std::io::copy(&mut entry, &mut out)?;
                let m = mode.map_or(0o644, |m| m & 0o777);
                out.set_permissions(Permissions::from_mode(m))?;
            }
        }
    }
    // Folders last: a read-only folder must not stop its own files.
    for (path, mode) in dir_modes.into_iter().rev() {
        std::fs::set_permissions(path, Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn create_parent(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(fsutil::parent(path))
}

/// Builders of real archives, including malicious ones, for tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::io::Write;
    use std::path::Path;

    /// One entry to put in a test archive; names are written verbatim.
    pub(crate) enum Item<'a> {
        File(&'a str, &'a [u8], u32),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
        Hardlink(&'a str, &'a str),
        Fifo(&'a str),
    }

    /// Writes a tar.gz with exactly these entries.
    pub(crate) fn tar_gz(path: &Path, items: &[Item<'_>]) {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(gz);
        for item in items {
            let mut header = tar::Header::new_gnu();
            let (name, data, mode, kind, link): (&str, &[u8], u32, _, Option<&str>) = match item {
                Item::File(n, d, m) => (n, d, *m, tar::EntryType::Regular, None),
                Item::Dir(n) => (n, b"", 0o755, tar::EntryType::Directory, None),
                Item::Symlink(n, t) => (n, b"", 0o777, tar::EntryType::Symlink, Some(*t)),
                Item::Hardlink(n, t) => (n, b"", 0o644, tar::EntryType::Link, Some(*t)),
                Item::Fifo(n) => (n, b"", 0o644, tar::EntryType::Fifo, None),
            };
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_size(data.len() as u64);
            if let Some(link) = link {
                header.set_link_name_literal(link).unwrap();
            }
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
    }

    /// Writes a zip with exactly these entries (no fifos or hardlinks in zip).
    pub(crate) fn zip(path: &Path, items: &[Item<'_>]) {
        let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        for item in items {
            match item {
                Item::File(n, d, m) => {
                    writer.start_file(*n, options.unix_permissions(*m)).unwrap();
                    writer.write_all(d).unwrap();
                }
                Item::Dir(n) => writer.add_directory(*n, options).unwrap(),
                Item::Symlink(n, t) => writer.add_symlink(*n, *t, options).unwrap(),
                Item::Hardlink(..) | Item::Fifo(_) => unreachable!("zip has no such entries"),
            }
        }
        writer.finish().unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{tar_gz, zip, Item};
    use super::*;
    use crate::ErrorKind;

    type Build = fn(&Path, &[Item<'_>]);
    const BUILDERS: [(&str, Build); 2] = [("tar.gz", tar_gz), ("zip", zip)];

    fn good<'a>() -> Vec<Item<'a>> {
        vec![
            Item::Dir("app/"),
            Item::File("app/bin/server", b"#!/bin/sh\necho hi\n", 0o755),
            Item::File("app/README", b"read me", 0o644),
            Item::Symlink("app/run", "bin/server"),
            Item::Symlink("latest", "./app/../app"),
        ]
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// The folder holds only `dest`, if anything: no temporary leftovers.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn unpacks_both_formats_keeping_modes_and_links() {
        for (ext, build) in BUILDERS {
            let tmp = tempfile::tempdir().unwrap();
            let archive = tmp.path().join(format!("r.{ext}"));
            build(&archive, &good());
            let dest = tmp.path().join("out/2026.1.0");
            unpack(&archive, &dest).unwrap();
            assert_eq!(
                std::fs::read(dest.join("app/run")).unwrap(),
                b"#!/bin/sh\necho hi\n",
                "{ext}"
            );
            assert_eq!(mode(&dest.join("app/bin/server")), 0o755, "{ext}");
            assert_eq!(mode(&dest.join("app/README")), 0o644, "{ext}");
            assert_eq!(mode(&dest), 0o755, "{ext}");
            assert_eq!(
                std::fs::read_link(dest.join("app/run")).unwrap(),
                Path::new("bin/server")
            );
            assert_eq!(names(&tmp.path().join("out")), ["2026.1.0"], "{ext}");
        }
    }

    #[test]
    fn unpacks_tar_hardlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("r.tar.gz");
        tar_gz(
            &archive,
            &[Item::File("a", b"data", 0o644), Item::Hardlink("b", "a")],
        );
        let dest = tmp.path().join("out");
        unpack(&archive, &dest).unwrap();
        assert_eq!(std::fs::read(dest.join("b")).unwrap(), b"data");
    }

    fn assert_rejected(build: Build, items: &[Item<'_>], entry: &str) {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("bad");
        build(&archive, items);
        let dest = tmp.path().join("out/v");
        let err = unpack(&archive, &dest).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input, "{err}");
        assert!(
            err.to_string().contains(&format!("entry `{entry}`")),
            "{err}"
        );
        assert!(err.to_string().contains("bad"), "{err}");
        assert_eq!(err.hint_text(), Some(MALFORMED));
        assert!(
            names(&tmp.path().join("out")).is_empty(),
            "left something behind"
        );
        assert_eq!(names(tmp.path()), ["bad", "out"], "wrote outside");
    }

    #[test]
    fn rejects_entries_that_escape_in_both_formats() {
        for (_, build) in BUILDERS {
            let file = |name| vec![Item::File("ok", b"1", 0o644), Item::File(name, b"x", 0o644)];
            assert_rejected(build, &file("../x"), "../x");
            assert_rejected(build, &file("a/../../x"), "a/../../x");
            assert_rejected(build, &file("/etc/x"), "/etc/x");
            assert_rejected(build, &[Item::Symlink("pw", "/etc/passwd")], "pw");
            assert_rejected(build, &[Item::Symlink("a", "../../x")], "a");
            assert_rejected(build, &[Item::Symlink("d/a", "../../x")], "d/a");
            // Each link alone stays inside; followed together they climb out.
            let chain = [Item::Symlink("a/b", ".."), Item::Symlink("a/c", "b/../x")];
            assert_rejected(build, &chain, "a/c");
            let beneath = [Item::Symlink("d", "."), Item::File("d/f", b"x", 0o644)];
            assert_rejected(build, &beneath, "d/f");
            let looped = [Item::Symlink("a", "b"), Item::Symlink("b", "a")];
            assert_rejected(build, &looped, "a");
        }
    }

    #[test]
    fn rejects_tar_specials_and_escaping_hardlinks() {
        assert_rejected(tar_gz, &[Item::Fifo("f")], "f");
        assert_rejected(tar_gz, &[Item::Symlink("./", "..")], "./");
        assert_rejected(tar_gz, &[Item::Hardlink("h", "/etc/passwd")], "h");
        assert_rejected(tar_gz, &[Item::Hardlink("d/h", "../x")], "d/h");
        let twice = [Item::File("f", b"1", 0o644), Item::Symlink("f", "g")];
        assert_rejected(tar_gz, &twice, "f");
    }

    #[test]
    fn refuses_garbage_and_an_existing_dest() {
        let tmp = tempfile::tempdir().unwrap();
        let junk = tmp.path().join("junk");
        std::fs::write(&junk, b"not an archive").unwrap();
        let err = unpack(&junk, &tmp.path().join("out")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(
            err.to_string().contains("neither a tar.gz nor a zip"),
            "{err}"
        );

        let archive = tmp.path().join("r.tar.gz");
        tar_gz(&archive, &good());
        let leftover = tmp.path().join(".fresh.unpack-crashed");
        std::fs::create_dir(&leftover).unwrap();
        unpack(&archive, &tmp.path().join("fresh")).unwrap();
        assert!(!leftover.exists(), "a crashed unpack's folder was kept");

        let dest = tmp.path().join("exists");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("keep"), b"k").unwrap();
        assert!(unpack(&archive, &dest).is_err());
        assert_eq!(names(&dest), ["keep"]);
    }
}
