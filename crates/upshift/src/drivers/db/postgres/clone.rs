//! A backup restored as a new database beside the live one (a clone's), and
//! what a clone needs afterwards: statements to isolate it, and dropping it.
//!
//! Design decisions:
//! - The new database is in the same cluster and made by this driver's
//!   role, so it needs nothing production does not already have. The live
//!   database is only read (for its owner, encoding and collation).
//! - A dump is restored with pg_restore into a fresh database made from
//!   `template0`; a snapshot marker is copied with `CREATE DATABASE ..
//!   TEMPLATE <snapshot>` (the snapshot stays, so production's rollback
//!   still has it) and the copy's content checksum must equal the marker's.
//! - A failed restore drops the half-made database.

use super::conn::{in_use, pg_error};
use super::names::ident;
use super::{kind_of, Kind, Postgres};
use crate::config::DatabaseConfig;
use crate::drivers::db::Database;
use crate::support::error::{Error, Result};
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the copy of a snapshot is retried while a session leaves it.
const COPY_WAIT: Duration = Duration::from_secs(30);

impl Postgres {
    /// Restores `backup` as the new database `target` names.
    pub(super) fn restore_new(&self, backup: &Path, target: &DatabaseConfig) -> Result<()> {
        let new = match target {
            DatabaseConfig::Postgres(pg)
                if pg.host == self.cfg.host && pg.port == self.cfg.port =>
            {
                pg.dbname.clone()
            }
            _ => {
                return Err(Error::input(format!(
                    "a backup of {} can only be restored as a new database in the same cluster",
                    self.describe()
                )))
            }
        };
        if new == self.cfg.dbname {
            return Err(Error::input(format!(
                "refusing to restore into the live database {new}"
            )));
        }
        let mut admin = self.connect_admin()?;
        if self.exists(&mut admin, &new)? {
            return Err(Error::input(format!(
                "cannot restore into {}: it exists already",
                self.at(&new, "database")
            ))
            .hint(format!(
                "drop the leftover database {new} first, or pick another name"
            )));
        }
        let made = match kind_of(backup)? {
            Kind::Dump => self.pg_restore_new(backup, &new, &mut admin),
            Kind::Snapshot(marker) => {
                self.verify_snapshot(backup, &marker)?;
                self.copy_snapshot(&marker, &new, &mut admin)
            }
        };
        made.inspect_err(|_| {
            let _ = self.drop_database(&mut admin, &new);
        })
    }

    /// pg_restore of a verified dump into a fresh database `new`.
    fn pg_restore_new(&self, dump: &Path, new: &str, admin: &mut postgres::Client) -> Result<()> {
        self.verify_dump(dump)?;
        let like = self.like_live(admin)?;
        super::conn::execute(
            admin,
            &format!("CREATE DATABASE {} {like} TEMPLATE template0", ident(new)),
            &self.at(new, "cannot create the database"),
        )
        .map_err(|e| e.hint("making a clone's database needs CREATEDB"))?;
        let mut args: Vec<OsString> = vec![
            format!("--jobs={}", self.jobs()).into(),
            "--exit-on-error".into(),
        ];
        args.extend(self.connection_args(new));
        args.push(dump.into());
        let pg_restore = self.tool("pg_restore")?;
        self.run_tool(&pg_restore, &args, &self.at(new, "pg_restore"), &|| {})
            .map(|_| ())
    }

    /// `CREATE DATABASE new TEMPLATE snapshot`, then the checksum compared.
    fn copy_snapshot(
        &self,
        marker: &super::snapshot::Marker,
        new: &str,
        admin: &mut postgres::Client,
    ) -> Result<()> {
        let snap = marker.database();
        let sql = format!("CREATE DATABASE {} TEMPLATE {}", ident(new), ident(snap));
        let deadline = Instant::now() + COPY_WAIT;
        loop {
            match admin.batch_execute(&sql) {
                Ok(()) => break,
                Err(e) if in_use(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => {
                    return Err(
                        pg_error(e, &self.at(new, &format!("cannot copy snapshot {snap}")))
                            .hint("nothing may be connected to the snapshot while it is copied"),
                    )
                }
            }
        }
        let got = self.checksum_of(new)?;
        if got != marker.content_checksum() {
            return Err(Error::failed(format!(
                "{}: the copy's content checksum is {got}, the snapshot's {}",
                self.at(new, "restore"),
                marker.content_checksum()
            )));
        }
        Ok(())
    }

    /// Runs statements on the live database (a clone's own).
    pub(super) fn run_statements(&self, sql: &str) -> Result<()> {
        let mut client = self.connect_live()?;
        client
            .batch_execute(sql)
            .map_err(|e| pg_error(e, &self.at_live(&format!("`{sql}`"))).into_input())
    }

    /// Drops the live database (a clone's teardown).
    pub(super) fn drop_live(&self) -> Result<()> {
        let mut admin = self.connect_admin()?;
        self.drop_database(&mut admin, &self.cfg.dbname)
    }
}
