//! Whole databases: whether one exists, dropping one, and putting another
//! database under the live name.
//!
//! The swap renames the live database away and the new one into its place
//! in one transaction, so an error (a session that reconnected, a missing
//! privilege) leaves both names as they were. Sessions are ended right
//! before, and the attempt is repeated for a short while if one came back.
//! The old database is dropped after the swap; if that fails the restore
//! still stands, and the leftover is named in a warning.

use super::conn::{in_use, one_with, pg_error};
use super::names::{derived, ident};
use super::Postgres;
use crate::support::error::Result;
use postgres::Client;
use std::time::{Duration, Instant};

/// How long a swap is retried while sessions keep reconnecting.
const SWAP_WAIT: Duration = Duration::from_secs(30);

impl Postgres {
    /// Whether database `db` exists in the cluster.
    pub(super) fn exists(&self, admin: &mut Client, db: &str) -> Result<bool> {
        one_with(
            admin,
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&db],
            &self.at(db, "looking up the database"),
        )
    }

    /// Drops database `db` (ending its sessions first); gone already is fine.
    pub(super) fn drop_database(&self, admin: &mut Client, db: &str) -> Result<()> {
        if !self.exists(admin, db)? {
            return Ok(());
        }
        self.end_all_sessions(admin, db)?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {}", ident(db)))
            .map_err(|e| pg_error(e, &self.at(db, "cannot drop the database")))
    }

    /// Puts database `new` under the live name and drops the old live one.
    pub(super) fn swap_into_live(&self, admin: &mut Client, new: &str) -> Result<()> {
        let live = &self.cfg.dbname;
        let old = derived(live, "old");
        let had_live = self.exists(admin, live)?;
        let mut renames = Vec::new();
        if had_live {
            renames.push(format!(
                "ALTER DATABASE {} RENAME TO {}",
                ident(live),
                ident(&old)
            ));
        }
        renames.push(format!(
            "ALTER DATABASE {} RENAME TO {}",
            ident(new),
            ident(live)
        ));
        let deadline = Instant::now() + SWAP_WAIT;
        loop {
            if had_live {
                self.end_all_sessions(admin, live)?;
            }
            self.end_all_sessions(admin, new)?;
            let swapped = admin.transaction().and_then(|mut tx| {
                for sql in &renames {
                    tx.batch_execute(sql)?;
                }
                tx.commit()
            });
            match swapped {
                Ok(()) => break,
                Err(e) if in_use(&e) && Instant::now() < deadline => continue,
                Err(e) => {
                    return Err(pg_error(
                        e,
                        &self.at(
                            live,
                            &format!("cannot rename database {new} to the live name"),
                        ),
                    )
                    .hint(format!(
                        "nothing was renamed: {live} is as it was and {new} still holds the \
                         restored data; renaming needs ownership of both and CREATEDB"
                    )))
                }
            }
        }
        if had_live {
            if let Err(e) = self.drop_database(admin, &old) {
                tracing::warn!(
                    "the restore is done, but the previous database {old} is left over: {}",
                    e.chain()
                );
            }
        }
        Ok(())
    }
}
