//! The instance lock: one upshift run at a time per instance.
//!
//! An exclusive, non-blocking `flock` on `<state dir>/lock`. The holder then
//! writes `pid <pid> on <host> <what> since <time>` into the file, so a second upshift
//! can say who is busy with the instance. Dropping the [`Lock`] empties the
//! file and releases it.
//!
//! There are no stale locks: the kernel releases a `flock` when the last file
//! descriptor on it closes, which includes its process dying by `kill -9` or
//! the machine restarting. A lock left by a killed upshift is therefore free
//! again at once; the journal, not the lock, tells `resume` what that run
//! left unfinished. The lock is per open file description, so a second
//! acquire conflicts even within the same process.
//!
//! Commands upshift runs (a migration, an install, pg_restore) get a copy
//! of the lock's descriptor ([`for_children`]): if upshift dies while one
//! of them runs, the lock stays held until that command ends too, so no
//! `resume` or `rollback` can restore a database under a migration that
//! is still going.
//!
//! The same kind of lock on a file beside a SQLite database ([`Lock::file`])
//! is what keeps a second operator, with a state folder of their own, off
//! the same database (see `Database::lock` in the database drivers).

use crate::support::clock::now;
use crate::support::error::{Context, Error, Result};
use crate::support::private_dir;
use fs2::FileExt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A copy of the held lock's descriptor, for child commands to inherit.
static HELD: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// The lock file's name inside the state folder.
pub const LOCK_FILE: &str = "lock";

/// A held instance lock; dropping it releases the instance.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    /// Lent to child commands (the instance lock).
    lent: bool,
    /// Locks held with this one (the database's), released with it.
    also: Vec<Box<dyn std::fmt::Debug + Send>>,
}

impl Lock {
    /// Takes the lock of the instance whose state folder is `dir`, saying
    /// `what` this process is doing; [`crate::ErrorKind::Busy`] if another
    /// holds it.
    pub fn acquire(dir: &Path, what: &str) -> Result<Lock> {
        private_dir::create(dir, "the state folder")?;
        let path = dir.join(LOCK_FILE);
        let mut lock = Lock::file(&path, what, "instance is busy")?;
        if let Ok(copy) = lock.file.as_fd().try_clone_to_owned() {
            *HELD.lock().unwrap_or_else(|e| e.into_inner()) = Some(copy);
        }
        lock.lent = true;
        Ok(lock)
    }

    /// Takes an exclusive lock on the file `path` (created 0600, never
    /// through a symlink: it may sit in a folder the service's user can
    /// write to), writing who holds it and for `what`; [`crate::ErrorKind::Busy`] starting with
    /// `busy` if another process holds it.
    pub fn file(path: &Path, what: &str, busy: &str) -> Result<Lock> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(path)
            .map_err(|e| {
                Error::failed(format!("cannot open the lock file {}", path.display()))
                    .caused_by(e)
                    .hint("a lock file is never a symbolic link: upshift does not write through one; if it is a link, remove it")
            })?;
        if let Err(e) = file.try_lock_exclusive() {
            if e.kind() != ErrorKind::WouldBlock {
                return Err(Error::failed(format!("cannot lock {}", path.display())).caused_by(e));
            }
            let holder = std::fs::read_to_string(path).unwrap_or_default();
            let holder = match holder.trim() {
                "" => "another process",
                line => line,
            };
            return Err(Error::busy(format!(
                "{busy}: {holder} holds {}",
                path.display()
            ))
            .hint("wait for that run to finish; `upshift status` shows what it is doing (if that upshift died, a command it started, such as a migration, still holds the lock until it ends)"));
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let line = format!(
            "pid {} on {} {what} since {}\n",
            std::process::id(),
            host.trim(),
            now()
        );
        file.set_len(0)
            .and_then(|_| file.write_all(line.as_bytes()))
            .context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(Lock {
            file,
            path: path.to_path_buf(),
            lent: false,
            also: Vec::new(),
        })
    }

    /// Holds `other` (another lock) until this one is released.
    pub fn hold(&mut self, other: Box<dyn std::fmt::Debug + Send>) {
        self.also.push(other);
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A descriptor on the held lock without close-on-exec, for the next
/// command this process spawns to inherit; drop it once spawned. `None`
/// when no lock is held. While it lives, [`unlent`] spawns wait.
pub fn for_children() -> Option<Lent> {
    let lending = LENDING.lock().unwrap_or_else(|e| e.into_inner());
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let copy = held.as_ref()?.try_clone().ok()?;
    let inherit = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty());
    nix::fcntl::fcntl(copy.as_raw_fd(), inherit).ok()?;
    Some(Lent {
        _fd: copy,
        _lending: lending,
    })
}

/// The held lock, lent to the children spawned while this lives.
#[derive(Debug)]
pub struct Lent {
    _fd: OwnedFd,
    _lending: std::sync::MutexGuard<'static, ()>,
}

/// Serialises lending the lock with spawns that must not inherit it.
static LENDING: Mutex<()> = Mutex::new(());

/// Runs `spawn` at a moment no lock is being lent, so that what it starts
/// (an `ssh` connection master that outlives this process) cannot inherit
/// the instance lock from another thread's child.
pub fn unlent<T>(spawn: impl FnOnce() -> T) -> T {
    let _lending = LENDING.lock().unwrap_or_else(|e| e.into_inner());
    spawn()
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.also.clear();
        if self.lent {
            HELD.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        // Emptied while still held, so no holder line outlives its holder;
        // closing the file would release the lock anyway.
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind as Kind;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    /// Polls `f` until it returns true, failing after 10 seconds.
    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn second_acquire_is_busy_and_names_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let first = Lock::acquire(&dir, "upgrade 1.0.0 -> 1.1.0").unwrap();
        let mode = std::fs::metadata(first.path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let line = std::fs::read_to_string(first.path()).unwrap();
        let prefix = format!("pid {} on ", std::process::id());
        assert!(line.starts_with(&prefix), "{line}");
        assert!(line.contains(" upgrade 1.0.0 -> 1.1.0 since "), "{line}");

        let err = Lock::acquire(&dir, "status").unwrap_err();
        assert_eq!(err.kind(), Kind::Busy);
        assert!(err.to_string().contains(line.trim()), "{err}");
        assert!(err
            .to_string()
            .contains(&first.path().display().to_string()));
        assert!(err.hint_text().unwrap().contains("upshift status"));

        drop(first);
        assert_eq!(std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap(), "");
        Lock::acquire(&dir, "again").unwrap();
    }

    #[test]
    fn lock_of_a_killed_process_is_free_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut holder = std::process::Command::new("flock")
            .arg(dir.join(LOCK_FILE))
            .args(["sleep", "30"])
            .process_group(0)
            .spawn()
            .expect("flock(1) from util-linux");
        wait_for(
            "the child to hold the lock",
            || matches!(Lock::acquire(dir, "probe"), Err(e) if e.kind() == Kind::Busy),
        );

        let group = nix::unistd::Pid::from_raw(holder.id() as i32);
        nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).unwrap();
        holder.wait().unwrap();
        wait_for("the lock to be free", || {
            Lock::acquire(dir, "after").is_ok()
        });
    }
}
