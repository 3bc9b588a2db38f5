//! Reading the data: the content checksum and single values.
//!
//! The checksum covers every ordinary table outside the system schemas, in
//! (schema, name) order: its name, its columns with their types, its row
//! count, and two sums of the 64-bit halves of each row's `md5(row::text)`.
//! The sums make it independent of row order (equal data, equal checksum,
//! whatever the physical layout) without sorting or shipping the rows: one
//! sequential scan per table, on the server. Everything runs in one
//! read-only repeatable-read transaction, so it sees one moment.
//!
//! `query_scalar` runs the statement in a read-only transaction: a check may
//! read, never write. The statement is prepared first (one statement only,
//! and its result type known), then run with the text protocol, and the
//! first value is turned into JSON by its type.

use super::conn::pg_error;
use super::names::ident;
use super::Postgres;
use crate::support::error::{Error, Result};
use postgres::types::Type;
use postgres::{IsolationLevel, SimpleQueryMessage};
use sha2::{Digest, Sha256};

impl Postgres {
    /// The content checksum of database `db`.
    pub(super) fn checksum_of(&self, db: &str) -> Result<String> {
        let at = self.at(db, "computing the content checksum");
        let mut client = self.connect(db)?;
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .isolation_level(IsolationLevel::RepeatableRead)
            .start()
            .map_err(|e| pg_error(e, &at))?;
        let mut tables: Vec<(String, String, u32)> = tx
            .query(
                "SELECT n.nspname::text, c.relname::text, c.oid
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind = 'r' AND n.nspname <> 'information_schema'
                   AND n.nspname NOT LIKE 'pg\\_%'",
                &[],
            )
            .map_err(|e| pg_error(e, &at))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        tables.sort();
        let mut hasher = Sha256::new();
        for (schema, table, oid) in tables {
            let at = format!("{at}, table {schema}.{table}");
            hash_text(&mut hasher, &schema);
            hash_text(&mut hasher, &table);
            let columns = tx
                .query(
                    "SELECT attname::text, format_type(atttypid, atttypmod)
                     FROM pg_attribute
                     WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
                     ORDER BY attnum",
                    &[&oid],
                )
                .map_err(|e| pg_error(e, &at))?;
            for column in &columns {
                hash_text(&mut hasher, column.get(0));
                hash_text(&mut hasher, column.get(1));
            }
            let rows = tx
                .query_one(
                    &format!(
                        "SELECT count(*)::text,
                           coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
                           coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text
                         FROM (SELECT md5(t::text) AS h FROM ONLY {}.{} t) AS rows",
                        ident(&schema),
                        ident(&table)
                    ),
                    &[],
                )
                .map_err(|e| pg_error(e, &at))?;
            for i in 0..3 {
                hash_text(&mut hasher, rows.get(i));
            }
        }
        tx.commit().map_err(|e| pg_error(e, &at))?;
        Ok(hex::encode(hasher.finalize()))
    }

    /// First column of the first row of `sql`, as JSON.
    pub(super) fn scalar(&self, sql: &str) -> Result<serde_json::Value> {
        let at = self.at_live(&format!("query `{sql}`"));
        let mut client = self.connect_live()?;
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| pg_error(e, &at))?;
        let statement = tx.prepare(sql).map_err(|e| pg_error(e, &at).into_input())?;
        let Some(column) = statement.columns().first() else {
            return Err(Error::input(format!("{at}: it returns no columns"))
                .hint("a check query must be a SELECT of one value"));
        };
        let ty = column.type_().clone();
        let messages = tx.simple_query(sql).map_err(|e| pg_error(e, &at))?;
        let first = messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_string)),
            _ => None,
        });
        Ok(match first.flatten() {
            Some(text) => to_json(&ty, text),
            None => serde_json::Value::Null,
        })
    }
}

/// Feeds a string with its length, so no two sequences hash alike.
fn hash_text(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_be_bytes());
    hasher.update(text.as_bytes());
}

/// A value in PostgreSQL's text form as JSON, by its type: booleans,
/// integers and floats as such, numeric as an integer or a float when it
/// fits, everything else as text.
fn to_json(ty: &Type, text: String) -> serde_json::Value {
    let number = |t: &str| -> Option<serde_json::Value> {
        match t.parse::<i64>() {
            Ok(i) => Some(i.into()),
            Err(_) => t
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Into::into),
        }
    };
    let converted = match *ty {
        Type::BOOL => Some((text == "t").into()),
        Type::INT2
        | Type::INT4
        | Type::INT8
        | Type::OID
        | Type::FLOAT4
        | Type::FLOAT8
        | Type::NUMERIC => number(&text),
        _ => None,
    };
    converted.unwrap_or(serde_json::Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_json_by_type() {
        assert_eq!(to_json(&Type::BOOL, "t".into()), true);
        assert_eq!(to_json(&Type::INT8, "42".into()), 42);
        assert_eq!(to_json(&Type::FLOAT8, "0.5".into()), 0.5);
        assert_eq!(to_json(&Type::FLOAT8, "NaN".into()), "NaN");
        assert_eq!(to_json(&Type::NUMERIC, "12".into()), 12);
        assert_eq!(to_json(&Type::TEXT, "12".into()), "12");
        assert_eq!(to_json(&Type::JSONB, "{}".into()), "{}");
    }
}
