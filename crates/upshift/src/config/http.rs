//! HTTP requests as the instance file describes them.

use crate::support::secret::SecretRef;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A header value: a plain string, or a secret (`{ env = "..." }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HeaderValue {
    /// Written in the file as it is.
    Plain(String),
    /// Read from the environment or a file when needed.
    Secret(SecretRef),
}

/// Request headers by name.
pub type Headers = BTreeMap<String, HeaderValue>;

/// A request that changes something (maintenance on, for example).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// GET, PUT, POST, ...
    #[serde(default = "default_put")]
    pub method: String,
    pub url: String,
    /// A JSON body, sent with `Content-Type: application/json`.
    pub body: Option<serde_json::Value>,
    #[serde(default)]
    pub headers: Headers,
}

/// A GET whose JSON answer is read at a JSON pointer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    pub url: String,
    /// RFC 6901 JSON pointer into the answer, for example `/Version`.
    pub pointer: Option<String>,
    #[serde(default)]
    pub headers: Headers,
}

fn default_put() -> String {
    "PUT".into()
}
