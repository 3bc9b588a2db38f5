//! Connections to the server, and its errors as ours.
//!
//! Without a password in the instance file, our connections look where libpq
//! (and so pg_dump) would: `PGPASSWORD`, then the pgpass file (`PGPASSFILE`,
//! else `~/.pgpass`); with none, the server may still accept the role by
//! `trust` or `peer` authentication.

use super::Postgres;
use crate::support::error::{Error, Result};
use crate::support::secret::Secret;
use postgres::types::{FromSqlOwned, ToSql};
use postgres::{Client, NoTls};
use std::path::PathBuf;
use std::time::Duration;

/// How long a connection attempt may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The `application_name` of our sessions, so operators can tell them apart.
pub(super) const APPLICATION: &str = "upshift";
/// Databases that exist in every cluster, to work from when the live one
/// must not be connected to.
const MAINTENANCE_DBS: [&str; 2] = ["postgres", "template1"];

impl Postgres {
    /// "`what` on postgres user@host:port/db", for messages.
    pub(super) fn at(&self, db: &str, what: &str) -> String {
        format!("{what} on postgres {}/{db}", self.server())
    }

    /// [`Postgres::at`] for the live database.
    pub(super) fn at_live(&self, what: &str) -> String {
        self.at(&self.cfg.dbname, what)
    }

    /// The password the instance file names, for the tools' environment.
    pub(super) fn configured_password(&self) -> Result<Option<Secret>> {
        self.cfg
            .password
            .as_ref()
            .map(|p| p.resolve("[database] password"))
            .transpose()
    }

    /// A connection to the live database.
    pub(super) fn connect_live(&self) -> Result<Client> {
        self.connect(&self.cfg.dbname)
    }

    /// A connection to the cluster's maintenance database.
    pub(super) fn connect_admin(&self) -> Result<Client> {
        match self.connect(MAINTENANCE_DBS[0]) {
            Err(first) if self.database_missing(&first) => {
                self.connect(MAINTENANCE_DBS[1]).map_err(|_| first)
            }
            other => other,
        }
    }

    fn database_missing(&self, e: &Error) -> bool {
        e.chain().contains("does not exist")
    }

    /// A connection to database `db` of the configured server.
    pub(super) fn connect(&self, db: &str) -> Result<Client> {
        let mut config = Client::configure();
        config
            .host(&self.cfg.host)
            .port(self.cfg.port)
            .user(&self.cfg.user)
            .dbname(db)
            .application_name(APPLICATION)
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(password) = self.client_password(db)? {
            config.password(password.expose());
        }
        config.connect(NoTls).map_err(|e| {
            pg_error(e, &self.at(db, "cannot connect")).hint(
                "check host, port, user and dbname in [database], the password source \
                 (password, PGPASSWORD, PGPASSFILE or ~/.pgpass), and that the server \
                 accepts this role from here (pg_hba.conf)",
            )
        })
    }

    /// The password for our own connections to `db`, if any is known.
    fn client_password(&self, db: &str) -> Result<Option<Secret>> {
        if let Some(p) = self.configured_password()? {
            return Ok(Some(p));
        }
        if let Some(p) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
            return Ok(Some(Secret::new(p)));
        }
        let file = match std::env::var_os("PGPASSFILE") {
            Some(f) => PathBuf::from(f),
            None => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(".pgpass"),
                None => return Ok(None),
            },
        };
        let Ok(text) = std::fs::read_to_string(&file) else {
            return Ok(None);
        };
        let port = self.cfg.port.to_string();
        let wanted = [self.cfg.host.as_str(), &port, db, &self.cfg.user];
        Ok(text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(pgpass_fields)
            .find(|f| {
                f.len() == 5
                    && wanted
                        .iter()
                        .zip(f)
                        .all(|(want, have)| have == "*" || have == want)
            })
            .map(|mut f| Secret::new(f.swap_remove(4))))
    }
}

/// The colon-separated fields of a pgpass line (`\:` and `\\` escaped).
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// One value from one row.
pub(super) fn one<T: FromSqlOwned>(client: &mut Client, sql: &str, at: &str) -> Result<T> {
    one_with(client, sql, &[], at)
}

/// One value from one row, with parameters.
pub(super) fn one_with<T: FromSqlOwned>(
    client: &mut Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    at: &str,
) -> Result<T> {
    client
        .query_one(sql, params)
        .and_then(|row| row.try_get(0))
        .map_err(|e| pg_error(e, at))
}

/// Runs one statement that returns no rows.
pub(super) fn execute(client: &mut Client, sql: &str, at: &str) -> Result<()> {
    client.batch_execute(sql).map_err(|e| pg_error(e, at))
}

/// A server or client error as ours: the server's message, its SQLSTATE
/// and its hint, after `at` (what we were doing, and where).
pub(super) fn pg_error(e: postgres::Error, at: &str) -> Error {
    match e.as_db_error() {
        Some(db) => {
            let mut message = format!(
                "{at}: {} {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(detail) = db.detail() {
                message.push_str(&format!("; {detail}"));
            }
            let err = Error::failed(message);
            match db.hint() {
                Some(hint) => err.hint(hint.to_string()),
                None => err,
            }
        }
        None => Error::failed(at.to_string()).caused_by(e),
    }
}

/// Whether `e` says an object is in use (SQLSTATE 55006), e.g. a database
/// that still has sessions.
pub(super) fn in_use(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE)
}

#[cfg(test)]
mod tests {
    use super::pgpass_fields;

    #[test]
    fn pgpass_lines_split_on_unescaped_colons() {
        assert_eq!(
            pgpass_fields(r"db.example:5432:*:app:pa\:ss\\word"),
            ["db.example", "5432", "*", "app", r"pa:ss\word"]
        );
    }
}
