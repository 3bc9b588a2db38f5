//! Settings: small values made once per instance and kept.
//!
//! Today that is the salt for key fingerprints: 16 random bytes, so that a
//! fingerprint recorded in the catalog identifies a key without letting anyone
//! test guesses against it. A value is made with `INSERT OR IGNORE` and then
//! read back, so two processes that make one at the same moment still agree
//! on the value that was kept.

use super::State;
use crate::support::error::{Context, Error, Result};
use rand::RngCore;
use rusqlite::{params, OptionalExtension};

const SALT: &str = "fingerprint_salt";

impl State {
    /// The instance's fingerprint salt: 16 random bytes, made on first use.
    pub fn salt(&self) -> Result<Vec<u8>> {
        let mut fresh = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        self.setting_or_insert(SALT, &fresh)
    }

    /// The value of `key`, storing `value` first if there is none.
    fn setting_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        let conn = self.conn();
        let read = || {
            conn.query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .context(|| self.fail(format_args!("read setting {key}")))
        };
        if let Some(kept) = read()? {
            return Ok(kept);
        }
        conn.execute(
            "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
            params![key, value],
        )
        .context(|| self.fail(format_args!("store setting {key}")))?;
        read()?.ok_or_else(|| Error::failed(self.fail(format_args!("keep setting {key}"))))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::state::State;

    #[test]
    fn salt_is_random_and_kept() {
        let (tmp, state) = crate::engine::state::tests::fresh();
        let salt = state.salt().unwrap();
        assert_eq!(salt.len(), 16);
        assert_eq!(state.salt().unwrap(), salt);
        let other = State::open(&tmp.path().join("other")).unwrap();
        assert_ne!(other.salt().unwrap(), salt);
    }
}
