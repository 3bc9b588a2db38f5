//! The master key and the authenticated encryption of secrets.
//!
//! Like Octopus' master key: 32 random bytes kept outside the database (a key
//! file holding base64), without which the `secrets` table is unreadable.
//! ChaCha20-Poly1305 with a fresh random 96-bit nonce per value; the nonce is
//! stored beside the ciphertext. `Debug` never shows the key.

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

/// Length of a master key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a nonce in bytes.
pub const NONCE_LEN: usize = 12;

/// The key that encrypts every secret of an instance.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Parses base64 of exactly 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = STANDARD
            .decode(text.trim())
            .context("master key is not valid base64")?;
        let Ok(bytes) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) else {
            bail!("master key must be {KEY_LEN} bytes, found {}", bytes.len());
        };
        Ok(Self(bytes))
    }

    /// The key as base64, the form kept in key files.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.0))
    }

    /// Encrypts `plaintext`, returning `(nonce, ciphertext)`.
    pub fn encrypt(&self, plaintext: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        (nonce.to_vec(), ciphertext)
    }

    /// Decrypts and authenticates; fails on a wrong key or altered data.
    pub fn decrypt(&self, nonce: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
        if nonce.len() != NONCE_LEN {
            bail!("nonce must be {NONCE_LEN} bytes, found {}", nonce.len());
        }
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| anyhow::anyhow!("decryption failed: wrong master key or corrupted value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let key = MasterKey::generate();
        let (nonce, ct) = key.encrypt(b"value-1");
        assert_eq!(key.decrypt(&nonce, &ct).unwrap(), b"value-1");
        let same = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(same.decrypt(&nonce, &ct).unwrap(), b"value-1");
        assert!(MasterKey::generate().decrypt(&nonce, &ct).is_err());
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }

    #[test]
    fn rejects_short_keys() {
        assert!(MasterKey::from_base64("AAAA").is_err());
    }
}
