//! `[keys]` and `[licence]`: the secrets a restored database needs, and the
//! date up to which the licence covers releases.

use super::{FilePath, Headers};
use crate::secret::SecretRef;
use serde::Deserialize;

/// Where a value is read from: `{ file = "..." }`, `{ command = [...] }` or
/// `{ http = { url = "...", headers = {...} } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ValueSource {
    File(FilePath),
    Command(Vec<String>),
    Http(HttpGet),
}

/// A GET whose body is the value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpGet {
    pub url: String,
    #[serde(default)]
    pub headers: Headers,
}

/// The key bundle: what goes in, and how it is encrypted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// age passphrase (scrypt); or use `recipients`.
    pub passphrase: Option<SecretRef>,
    /// age recipients (`age1...`).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// An age identity able to decrypt for `recipients`, used to prove each
    /// bundle decrypts. Without it a recipients bundle is checked byte for byte only.
    pub identity: Option<SecretRef>,
    /// The keys themselves.
    pub sources: Vec<KeySource>,
}

/// One key in the bundle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySource {
    pub name: String,
    pub from: ValueSource,
}

/// How to read the licence's "covers releases up to" date (YYYY-MM-DD).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceConfig {
    pub from: ValueSource,
    /// JSON pointer to the date when the value is JSON.
    pub pointer: Option<String>,
}
