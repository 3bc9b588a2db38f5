//! Filling a database with projects and encrypted secrets, fast enough to
//! make 100 MB - 1 GB databases for benchmarks (batched transactions,
//! prepared statements).
//!
//! Payloads are deterministic but not trivially compressible (a small
//! xorshift stream seeded by the row number), so backups of a seeded database
//! cost what real data would.

use anyhow::Result;
use rusqlite::{params, Connection};

use crate::crypto::MasterKey;
use crate::data::schema_version;
use crate::db;
use crate::migrations;

/// Rows per transaction.
const BATCH: u64 = 10_000;

/// What to insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSpec {
    /// Projects to add.
    pub projects: u64,
    /// Secrets to add.
    pub secrets: u64,
    /// Payload size of each project in bytes.
    pub payload_bytes: usize,
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
pub fn seed(conn: &mut Connection, key: &MasterKey, schema: u32, spec: SeedSpec) -> Result<Seeded> {
    if schema_version(conn)? == 0 {
        migrations::run_pending(conn, schema, false, |_| {})?;
    }
    let with_slug = db::column_exists(conn, "projects", "slug")?;
    let first_project: u64 =
        conn.query_row("SELECT coalesce(max(id), 0) FROM projects", [], |r| {
            r.get(0)
        })?;
    let first_secret: u64 = conn.query_row("SELECT count(*) FROM secrets", [], |r| r.get(0))?;

    let sql = if with_slug {
        "INSERT INTO projects(name, payload, created_at, slug) VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?1)"
    } else {
        "INSERT INTO projects(name, payload, created_at) VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
    };
    in_batches(conn, spec.projects, |tx, range| {
        let mut stmt = tx.prepare_cached(sql)?;
        for n in range {
            let i = first_project + n;
            stmt.execute(params![
                format!("project-{i}"),
                payload(i, spec.payload_bytes)
            ])?;
        }
        Ok(())
    })?;
    in_batches(conn, spec.secrets, |tx, range| {
        let mut stmt =
            tx.prepare_cached("INSERT INTO secrets(name, nonce, ciphertext) VALUES (?1, ?2, ?3)")?;
        for n in range {
            let i = first_secret + n;
            let (nonce, ciphertext) = key.encrypt(format!("value-{i}").as_bytes());
            stmt.execute(params![format!("secret-{i}"), nonce, ciphertext])?;
        }
        Ok(())
    })?;
    Ok(Seeded {
        projects: spec.projects,
        secrets: spec.secrets,
    })
}

/// Calls `insert` with 1-based row ranges of at most [`BATCH`], each in its
/// own transaction.
fn in_batches(
    conn: &mut Connection,
    count: u64,
    mut insert: impl FnMut(&rusqlite::Transaction<'_>, std::ops::RangeInclusive<u64>) -> Result<()>,
) -> Result<()> {
    let mut start = 1;
    while start <= count {
        let end = (start + BATCH - 1).min(count);
        let tx = conn.transaction()?;
        insert(&tx, start..=end)?;
        tx.commit()?;
        start = end + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_continues_numbering() {
        let mut conn = Connection::open_in_memory().unwrap();
        let key = MasterKey::generate();
        let spec = SeedSpec {
            projects: 3,
            secrets: 2,
            payload_bytes: 16,
        };
        seed(&mut conn, &key, 1, spec).unwrap();
        seed(&mut conn, &key, 1, spec).unwrap();
        let name: String = conn
            .query_row("SELECT name FROM projects WHERE id = 6", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "project-6");
        let secrets = crate::data::decrypt_secrets(&conn, &key).unwrap();
        assert_eq!(secrets["secret-4"], b"value-4");
        assert_eq!(payload(5, 16), payload(5, 16));
        assert_ne!(payload(5, 16), payload(6, 16));
    }
}
