//! Other sessions on the live database.
//!
//! With the service stopped, a session still connected to the live database
//! is a leftover: a worker that did not exit, a console someone left open.
//! A snapshot cannot be taken while any exists (PostgreSQL refuses to copy
//! a database in use) and a backup taken under a writer would not be the
//! data the upgrade starts from. So they are named and refused; only
//! sessions of the instance's own role are ended, and only when the
//! instance file allows it (`terminate_own_sessions`). A restore, which
//! replaces the database anyway, ends every session on it.

use super::conn::{pg_error, APPLICATION};
use super::Postgres;
use crate::support::error::{Error, Result};
use postgres::Client;
use std::fmt;
use std::time::{Duration, Instant};

/// How long ended sessions may take to go away.
const END_WAIT: Duration = Duration::from_secs(15);

/// A client session connected to a database.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pid: i32,
    user: String,
    application: String,
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} (role {}, application {:?})",
            self.pid, self.user, self.application
        )
    }
}

/// Sessions as a list for a message.
pub(super) fn list(sessions: &[Session]) -> String {
    sessions
        .iter()
        .map(Session::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Postgres {
    /// Client sessions on `db` other than the one `admin` is. Other roles'
    /// sessions show no `backend_type` to a role that is not a superuser
    /// (nor in `pg_read_all_stats`), so those count as client sessions;
    /// background workers have no role and are left out (PostgreSQL ends
    /// autovacuum by itself when it copies or renames a database).
    pub(super) fn sessions(&self, admin: &mut Client, db: &str) -> Result<Vec<Session>> {
        let rows = admin
            .query(
                "SELECT pid, coalesce(usename::text, ''), coalesce(application_name, '')
                 FROM pg_stat_activity
                 WHERE datname = $1 AND pid <> pg_backend_pid()
                   AND usesysid IS NOT NULL
                   AND coalesce(backend_type, 'client backend') = 'client backend'
                 ORDER BY pid",
                &[&db],
            )
            .map_err(|e| pg_error(e, &self.at(db, "cannot list sessions")))?;
        Ok(rows
            .iter()
            .map(|r| Session {
                pid: r.get(0),
                user: r.get(1),
                application: r.get(2),
            })
            .collect())
    }

    /// Refuses other sessions on the live database, except the instance's
    /// own role's when the instance file lets upshift end them; returns
    /// those (to be ended at backup time).
    pub(super) fn leftover_sessions(&self, admin: &mut Client) -> Result<Vec<Session>> {
        let all = self.sessions(admin, &self.cfg.dbname)?;
        let (own, foreign): (Vec<_>, Vec<_>) =
            all.iter().cloned().partition(|s| s.user == self.cfg.user);
        if foreign.is_empty() && (own.is_empty() || self.cfg.terminate_own_sessions) {
            return Ok(own);
        }
        let hint = match foreign.is_empty() {
            true => format!(
                "close them, or let upshift end sessions of role {} with \
                 `terminate_own_sessions = true` in [database]",
                self.cfg.user
            ),
            false => format!(
                "close them (or pg_terminate_backend(pid) as a superuser); upshift only ever \
                 ends sessions of its own role {}, and only with `terminate_own_sessions = true`",
                self.cfg.user
            ),
        };
        Err(Error::input(format!(
            "{}: {} other session(s) connected with the service stopped: {}",
            self.at_live("sessions"),
            all.len(),
            list(&all)
        ))
        .hint(hint))
    }

    /// Ends the leftover sessions the instance file allows upshift to end,
    /// after refusing any other (see [`Postgres::leftover_sessions`]).
    pub(super) fn clear_for_backup(&self, admin: &mut Client) -> Result<()> {
        let own = self.leftover_sessions(admin)?;
        self.end_sessions(admin, &self.cfg.dbname, &own)
    }

    /// Ends every session on `db` (a restore replaces it anyway).
    pub(super) fn end_all_sessions(&self, admin: &mut Client, db: &str) -> Result<()> {
        let all = self.sessions(admin, db)?;
        self.end_sessions(admin, db, &all)
    }

    /// Ends `sessions` on `db` and waits until they are gone.
    fn end_sessions(&self, admin: &mut Client, db: &str, sessions: &[Session]) -> Result<()> {
        if sessions.is_empty() {
            return Ok(());
        }
        let at = self.at(db, &format!("ending session(s) {}", list(sessions)));
        let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM unnest($1::int4[]) AS pid",
                &[&pids],
            )
            .map_err(|e| {
                pg_error(e, &at).hint(
                    "a role may only end its own sessions (or be a member of \
                     pg_signal_backend); close them by hand",
                )
            })?;
        let deadline = Instant::now() + END_WAIT;
        loop {
            let left = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int4[])",
                    &[&pids],
                )
                .and_then(|r| r.try_get::<_, i64>(0))
                .map_err(|e| pg_error(e, &at))?;
            if left == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::failed(format!(
                    "{at}: {left} still there after {}",
                    humantime::format_duration(END_WAIT)
                ))
                .hint(format!(
                    "look for them in pg_stat_activity (application_name <> '{APPLICATION}')"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
