//! Filling a database with projects and encrypted secrets, fast enough to
//! make 100 MB - 1 GB databases for benchmarks: rows go in batches of about
//! 8 MiB, each one transaction through [`Db::bulk_insert`] (prepared inserts
//! on SQLite, binary `COPY` on PostgreSQL). `target_mb` keeps adding batches
//! of projects until the database reaches a size, for benchmarks that need a
//! database of a given size rather than of a given row count.
//!
//! Payloads are deterministic but not trivially compressible (a small
//! xorshift stream seeded by the row number), so backups of a seeded database
//! cost what real data would.

use anyhow::Result;

use crate::crypto::MasterKey;
use crate::data::schema_version;
use crate::db::{Db, Value};
use crate::migrations;

/// Most rows per transaction.
const BATCH: u64 = 10_000;

/// Bytes aimed at per transaction, so `--target-mb` overshoots by little
/// even with large payloads.
const BATCH_BYTES: u64 = 8 << 20;

/// Estimated bytes a project row takes beside its payload.
const ROW_OVERHEAD: u64 = 64;

/// What to insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSpec {
    /// Projects to add.
    pub projects: u64,
    /// Secrets to add.
    pub secrets: u64,
    /// Payload size of each project in bytes.
    pub payload_bytes: usize,
    /// After `projects`, keep adding projects until the database holds at
    /// least this many MiB ([`Db::size_bytes`]).
    pub target_mb: Option<u64>,
}

/// What was inserted, numbered from where the table left off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Projects added.
    pub projects: u64,
    /// Secrets added.
    pub secrets: u64,
}

/// The deterministic payload of project `i`.
pub fn payload(i: u64, len: usize) -> Vec<u8> {
    let mut state = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Migrates an empty database up to `schema`, then inserts `spec`'s rows:
/// projects `project-<i>` and secrets `secret-<i>` = `value-<i>`, with `i`
/// continuing after the rows already there.
pub fn seed(db: &mut Db, key: &MasterKey, schema: u32, spec: SeedSpec) -> Result<Seeded> {
    if schema_version(db)? == 0 {
        migrations::run_pending(db, schema, false, |_| {})?;
    }
    let mut projects = Projects {
        with_slug: db.column_exists("projects", "slug")?,
        next: db.query_one::<u64>("SELECT coalesce(max(id), 0) FROM projects", &[])? + 1,
        payload_bytes: spec.payload_bytes,
        batch: (BATCH_BYTES / (spec.payload_bytes as u64 + ROW_OVERHEAD)).clamp(100, BATCH),
    };
    let first_project = projects.next;
    let mut left = spec.projects;
    while left > 0 {
        left -= projects.insert(db, left)?;
    }
    if let Some(mb) = spec.target_mb {
        while db.size_bytes()? < mb << 20 {
            projects.insert(db, u64::MAX)?;
        }
    }

    let first_secret = db.query_one::<u64>("SELECT count(*) FROM secrets", &[])? + 1;
    let mut start = first_secret;
    let end = first_secret + spec.secrets;
    while start < end {
        let stop = (start + BATCH).min(end);
        let rows = (start..stop).map(|i| {
            let (nonce, ciphertext) = key.encrypt(format!("value-{i}").as_bytes());
            vec![
                Value::Text(format!("secret-{i}")),
                nonce.into(),
                ciphertext.into(),
            ]
        });
        db.bulk_insert("secrets", &["name", "nonce", "ciphertext"], rows)?;
        start = stop;
    }
    Ok(Seeded {
        projects: projects.next - first_project,
        secrets: spec.secrets,
    })
}

/// The projects still to number and how to batch them.
struct Projects {
    with_slug: bool,
    next: u64,
    payload_bytes: usize,
    batch: u64,
}

impl Projects {
    /// Inserts one transaction of at most `max` projects; returns how many.
    fn insert(&mut self, db: &mut Db, max: u64) -> Result<u64> {
        let count = self.batch.min(max);
        let now: String = db.query_one(&format!("SELECT {}", db.dialect().now), &[])?;
        let (with_slug, payload_bytes) = (self.with_slug, self.payload_bytes);
        let rows = (self.next..self.next + count).map(|i| {
            let name = format!("project-{i}");
            let mut row = vec![
                Value::Text(name.clone()),
                payload(i, payload_bytes).into(),
                Value::Text(now.clone()),
            ];
            if with_slug {
                row.push(name.into());
            }
            row
        });
        let columns: &[&str] = if with_slug {
            &["name", "payload", "created_at", "slug"]
        } else {
            &["name", "payload", "created_at"]
        };
        db.bulk_insert("projects", columns, rows)?;
        self.next += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_continues_numbering() {
        let mut db = Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        let key = MasterKey::generate();
        let spec = SeedSpec {
            projects: 3,
            secrets: 2,
            payload_bytes: 16,
            target_mb: None,
        };
        seed(&mut db, &key, 1, spec).unwrap();
        seed(&mut db, &key, 1, spec).unwrap();
        let name: String = db
            .query_one("SELECT name FROM projects WHERE id = 6", &[])
            .unwrap();
        assert_eq!(name, "project-6");
        let secrets = crate::data::decrypt_secrets(&mut db, &key).unwrap();
        assert_eq!(secrets["secret-4"], b"value-4");
        assert_eq!(payload(5, 16), payload(5, 16));
        assert_ne!(payload(5, 16), payload(6, 16));
    }

    #[test]
    fn target_mb_fills_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&crate::db::Source::Sqlite(dir.path().join("s.sqlite"))).unwrap();
        let spec = SeedSpec {
            projects: 0,
            secrets: 0,
            payload_bytes: 2000,
            target_mb: Some(3),
        };
        let done = seed(&mut db, &MasterKey::generate(), 2, spec).unwrap();
        let size = db.size_bytes().unwrap();
        assert!(size >= 3 << 20, "{size}");
        assert!(size < 16 << 20, "stops soon after the target: {size}");
        let rows: u64 = db
            .query_one("SELECT count(*) FROM projects WHERE slug IS NOT NULL", &[])
            .unwrap();
        assert_eq!(rows, done.projects);
        assert!(done.projects > 1000, "{done:?}");
    }
}
