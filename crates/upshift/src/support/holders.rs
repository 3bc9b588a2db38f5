//! Who holds a lock file: the processes with it open, found in `/proc`.
//!
//! A `flock` belongs to an open file description, not to a process, so
//! when upshift dies while a command it lent the lock to still runs (a
//! migration), the lock stays held by that orphan while the pid written
//! in the lock file is dead. `status` must tell the two apart. Every
//! `/proc/<pid>/fd/*` whose target is the lock file (same device and
//! inode) names a holder; processes we may not inspect are skipped.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A process that has the lock file open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its command line, for messages.
    pub command: String,
}

/// The live processes other than this one that have `path` open.
pub fn holders(path: &Path) -> Vec<Holder> {
    let Ok(target) = std::fs::metadata(path) else {
        return Vec::new();
    };
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me && is_alive(*pid))
        .filter(|pid| {
            let fds = std::fs::read_dir(format!("/proc/{pid}/fd"));
            fds.into_iter().flatten().flatten().any(|fd| {
                std::fs::metadata(fd.path())
                    .is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
            })
        })
        .map(|pid| Holder {
            pid,
            command: command_line(pid),
        })
        .collect()
}

/// Whether `pid` runs (a zombie does not).
pub fn is_alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    match stat.rsplit_once(')') {
        Some((_, rest)) => !rest.trim_start().starts_with(['Z', 'X']),
        None => false,
    }
}

/// The command line of `pid`, arguments joined by spaces.
fn command_line(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_child_that_has_the_file_open() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lock");
        std::fs::write(&path, "").unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec sleep 30 3<\"$0\"")
            .arg(&path)
            .spawn()
            .unwrap();
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !holders(&path).iter().any(|h| h.pid == pid) {
            assert!(std::time::Instant::now() < deadline, "holder never seen");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(holders(&path)[0].command.starts_with("sleep 30"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_alive(pid));
        assert!(holders(&path).is_empty());
    }
}
