//! Preflight: everything a backup and a restore will need, checked before
//! anything changes.
//!
//! - pg_dump and pg_restore at least the server's major version (an older
//!   pg_dump refuses a newer server, and an older pg_restore may not read the
//!   newer dump format).
//! - The role's privileges. Both strategies read every table (pg_dump, and
//!   the dump made from a snapshot), and both restore by creating a database
//!   and renaming the live one away: CREATEDB and ownership of the live
//!   database (or superuser). A backup that could not be restored is refused
//!   here rather than found out in a rollback.
//!
//! It runs before the window, with the service still up, so it does not
//! look at sessions: those are the service's own until it stops, and the
//! backup deals with what is left then (see `sessions.rs`).

use super::conn::{one, pg_error};
use super::tools::{server_major, show, tool_major};
use super::Postgres;
use crate::config::PgStrategy;
use crate::support::error::{Error, Result};

/// How many unreadable tables a message names at most.
const NAMED: i64 = 10;

impl Postgres {
    /// The preflight checks; returns notes for the operator.
    pub(super) fn check(&self) -> Result<Vec<String>> {
        if self.cfg.jobs == 0 {
            return Err(Error::input("[database] jobs must be at least 1"));
        }
        let mut notes = Vec::new();
        let mut client = self.connect_live()?;
        let num: i32 = one(
            &mut client,
            "SELECT current_setting('server_version_num')::int",
            &self.at_live("reading the server version"),
        )?;
        let server = server_major(num);
        for name in ["pg_dump", "pg_restore"] {
            let path = self.tool(name)?;
            let major = tool_major(&path)?;
            if major < server {
                return Err(Error::input(format!(
                    "{} is PostgreSQL {}, older than the server {} ({}): it cannot back up or \
                     restore that server's databases safely",
                    path.display(),
                    show(major),
                    self.server(),
                    show(server)
                ))
                .hint(format!(
                    "install the PostgreSQL {} client tools (Debian: postgresql-client-{}) and \
                     set `bin_dir` in [database] to their folder",
                    show(server),
                    show(server)
                )));
            }
            notes.push(format!(
                "{name} {} at {} (server {})",
                show(major),
                path.display(),
                show(server)
            ));
        }
        notes.push(self.check_privileges(&mut client)?);
        if self.cfg.strategy == PgStrategy::Snapshot {
            notes.push(
                "the snapshot is a full copy inside the cluster: the server needs free disk \
                 space for the database's size once more"
                    .to_string(),
            );
        }
        Ok(notes)
    }

    /// Refuses missing privileges; returns a note of those found.
    fn check_privileges(&self, client: &mut postgres::Client) -> Result<String> {
        let at = self.at_live("checking privileges");
        let row = client
            .query_one(
                "SELECT r.rolsuper, r.rolcreatedb, pg_has_role(d.datdba, 'MEMBER'),
                        pg_get_userbyid(d.datdba)::text
                 FROM pg_roles r, pg_database d
                 WHERE r.rolname = current_user AND d.datname = current_database()",
                &[],
            )
            .map_err(|e| pg_error(e, &at))?;
        let (superuser, createdb, owner, owned_by): (bool, bool, bool, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let unreadable: Vec<String> = client
            .query(
                "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                   AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
                   AND NOT (has_schema_privilege(n.oid, 'USAGE')
                            AND has_table_privilege(c.oid, 'SELECT'))
                 ORDER BY 1 LIMIT $1",
                &[&(NAMED + 1)],
            )
            .map_err(|e| pg_error(e, &at))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let user = &self.cfg.user;
        let db = &self.cfg.dbname;
        let mut missing = Vec::new();
        if !superuser && !createdb {
            let why = match self.cfg.strategy {
                PgStrategy::Snapshot => "to create the snapshot and restore it",
                PgStrategy::Dump => "to create the database a restore goes into",
            };
            missing.push(format!("CREATEDB ({why})"));
        }
        if !superuser && !owner {
            missing.push(format!(
                "ownership of database {db}, owned by {owned_by} (to rename it in a restore)"
            ));
        }
        if !unreadable.is_empty() {
            let more = match unreadable.len() as i64 > NAMED {
                true => " and more",
                false => "",
            };
            let shown = unreadable.iter().take(NAMED as usize).cloned();
            missing.push(format!(
                "SELECT on {}{more} (pg_dump reads every table)",
                shown.collect::<Vec<_>>().join(", ")
            ));
        }
        if !missing.is_empty() {
            return Err(Error::input(format!(
                "{}: role {user} lacks {}",
                self.at_live("privileges"),
                missing.join("; ")
            ))
            .hint(format!(
                "as a superuser: ALTER ROLE {user} CREATEDB; ALTER DATABASE {db} OWNER TO {user}; \
                 GRANT SELECT on the tables named (or use a role that owns them)"
            )));
        }
        Ok(match superuser {
            true => format!("role {user} is a superuser"),
            false => format!("role {user} has CREATEDB, owns {db} and can read every table"),
        })
    }
}
