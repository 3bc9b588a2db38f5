//! `[keys]` and `[licence]`: the secrets a restored database needs, and how
//! far the licence covers releases (up to a date, or up to a version).

use super::{FilePath, Headers};
use crate::support::secret::SecretRef;
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
    /// When the value is JSON: the string at this JSON pointer is the key
    /// (`/MasterKey` of `Octopus.Server show-master-key --format json`).
    pub pointer: Option<String>,
}

/// How to read how far the licence covers releases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceConfig {
    pub from: ValueSource,
    /// JSON pointer to the date (or version) when the value is JSON.
    pub pointer: Option<String>,
    /// What the value is, and what it is compared with.
    #[serde(default)]
    pub covers: LicenceCovers,
}

/// What a licence's limit is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenceCovers {
    /// A `YYYY-MM-DD` date, compared with the release's `published` date.
    #[default]
    Date,
    /// A version, compared with the release's version.
    Version,
}
