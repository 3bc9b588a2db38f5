//! The database's lock across operators: a session-level advisory lock.
//!
//! Taken from the maintenance database (so it never counts as a session on
//! the live one, and never blocks renaming or copying it), keyed by the
//! live database's name. PostgreSQL releases it when the session ends, a
//! killed upshift included. A second upshift, from any machine, sees it
//! taken and is told which client holds it.

use super::conn::{one_with, pg_error};
use super::Postgres;
use crate::support::error::{Error, Result};
use sha2::{Digest, Sha256};

/// The held lock: the session that holds it, kept open (never read) until
/// the lock is dropped.
pub struct Held {
    _session: postgres::Client,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("postgres advisory lock")
    }
}

impl Postgres {
    pub(super) fn advisory_lock(&self, what: &str) -> Result<Held> {
        let mut client = self.connect_admin()?;
        let key = lock_key(&self.cfg.dbname);
        let at = self.at("postgres", "cannot take the upshift lock");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let me = format!("upshift {what} from {}", host.trim());
        client
            .execute("SELECT set_config('application_name', $1, false)", &[&me])
            .map_err(|e| pg_error(e, &at))?;
        let got: bool = one_with(&mut client, "SELECT pg_try_advisory_lock($1)", &[&key], &at)?;
        if got {
            return Ok(Held { _session: client });
        }
        let holder: Option<String> = client
            .query_opt(
                "SELECT format('%s (client %s, pid %s, since %s)', a.application_name, \
                 coalesce(host(a.client_addr), 'local socket'), a.pid, a.backend_start) \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted \
                 AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
                &[&key],
            )
            .ok()
            .flatten()
            .and_then(|row| row.try_get(0).ok());
        Err(Error::busy(format!(
            "database is busy: {} holds upshift's lock on {}",
            holder.as_deref().unwrap_or("another session"),
            self.at_live("the database")
        ))
        .hint("another operator is running upshift on this database (maybe from another machine); wait for that run to finish"))
    }
}

/// The advisory lock key of database `dbname`.
fn lock_key(dbname: &str) -> i64 {
    let digest = Sha256::digest(format!("upshift:{dbname}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}
