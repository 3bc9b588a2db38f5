//! What the database holds, read whole so a test can compare before and after
//! an upgrade (or a restore) with one `assert_eq!`.
//!
//! Secrets are decrypted with the master key: a snapshot proves both that the
//! rows survived and that they are still readable with the instance's key.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::crypto::MasterKey;
use crate::db::{Db, PgTarget, Source};

/// One row of `projects` (the columns every schema has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Primary key.
    pub id: i64,
    /// Project name.
    pub name: String,
    /// Opaque payload.
    pub payload: Option<Vec<u8>>,
    /// Creation time as stored.
    pub created_at: String,
}

/// Every project and every decrypted secret, plus the schema version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `max(version)` of `schema_migrations`.
    pub schema_version: u32,
    /// All projects ordered by id.
    pub projects: Vec<Project>,
    /// Secret name -> plaintext.
    pub secrets: BTreeMap<String, Vec<u8>>,
}

impl Snapshot {
    /// Reads the SQLite database at `db_path` read-only, decrypting secrets
    /// with `key`.
    pub fn read(db_path: &Path, key: &MasterKey) -> Result<Snapshot> {
        Self::read_source(&Source::Sqlite(db_path.to_owned()), key)
    }

    /// Reads the PostgreSQL database of `conn` (libpq `key=value` pairs; the
    /// password, if one is needed, from `PGPASSWORD`).
    pub fn read_postgres(conn: &str, key: &MasterKey) -> Result<Snapshot> {
        Self::read_source(&Source::Postgres(PgTarget::new(conn, None)?), key)
    }

    /// Reads `source` read-only, in one transaction so the tables agree.
    pub fn read_source(source: &Source, key: &MasterKey) -> Result<Snapshot> {
        let mut db = Db::open_read_only(source)?;
        db.transaction(|db| {
            let schema_version = schema_version(db)?;
            if schema_version == 0 {
                return Ok(Snapshot {
                    schema_version,
                    projects: Vec::new(),
                    secrets: BTreeMap::new(),
                });
            }
            let projects = db
                .query(
                    "SELECT id, name, payload, created_at FROM projects ORDER BY id",
                    &[],
                )?
                .into_iter()
                .map(|r| {
                    Ok(Project {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        payload: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let secrets = decrypt_secrets(db, key)?;
            Ok(Snapshot {
                schema_version,
                projects,
                secrets,
            })
        })
        .with_context(|| format!("reading {source}"))
    }
}

/// Decrypts every row of `secrets`; fails on the first that does not decrypt.
pub fn decrypt_secrets(db: &mut Db, key: &MasterKey) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for row in db.query(
        "SELECT name, nonce, ciphertext FROM secrets ORDER BY id",
        &[],
    )? {
        let name: String = row.get(0)?;
        let nonce: Vec<u8> = row.get(1)?;
        let ciphertext: Vec<u8> = row.get(2)?;
        let plain = key
            .decrypt(&nonce, &ciphertext)
            .with_context(|| format!("secret {name:?}"))?;
        out.insert(name, plain);
    }
    Ok(out)
}

/// The schema version: `max(version)` of `schema_migrations`, 0 if the table
/// is missing or empty.
pub fn schema_version(db: &mut Db) -> Result<u32> {
    if !db.table_exists("schema_migrations")? {
        return Ok(0);
    }
    let v: i64 = db.query_one(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        &[],
    )?;
    u32::try_from(v).context("schema version out of range")
}
