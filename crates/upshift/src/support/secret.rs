//! Secrets: named in the instance file, never stored in it.
//!
//! A [`SecretRef`] says where a secret lives (an environment variable or a
//! file); resolving it gives a [`Secret`], whose `Debug` prints `***` and which
//! has no `Display`, so a secret cannot end up in a log line or an error
//! message by accident. Error messages name the variable or the file, never
//! the value. The value is held in a `secrecy` box, wiped from memory when
//! the last copy is dropped.
//!
//! A secret written in the instance file itself (`passphrase = "..."`) is
//! refused when the file is read, with a message that does not repeat it
//! (serde's usual "invalid type: string ..." would). A secret file is read
//! only if it is a regular file of at most 64 KiB: a FIFO would block for
//! ever and `/dev/zero` would never end.

use crate::support::error::{Error, Result};
use crate::support::fsutil;
use crate::support::path::FilePath;
use crate::support::redact::remember;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// The largest secret file read (a passphrase, a key, a token).
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The error for a value written where a secret's place should be named.
const INLINE: &str = "a secret is never written in the instance file: name where it is kept, `{ env = \"VAR\" }` or `{ file = \"path\" }`";

/// Where a secret is kept: `{ env = "NAME" }` or `{ file = "path" }`.
#[derive(Debug, Clone)]
pub struct SecretRef {
    /// An environment variable of the upshift process.
    pub env: Option<String>,
    /// A file whose contents (trimmed of a final newline) are the secret.
    pub file: Option<FilePath>,
}

/// [`SecretRef`] as the instance file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    env: Option<String>,
    file: Option<FilePath>,
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(RefVisitor)
    }
}

/// Reads a table into a [`SecretRef`] and refuses any plain value without
/// showing it.
struct RefVisitor;

impl<'de> Visitor<'de> for RefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`{ env = \"VAR\" }` or `{ file = \"path\" }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<SecretRef, A::Error> {
        let named = Named::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(SecretRef {
            env: named.env,
            file: named.file,
        })
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<SecretRef, E> {
        Err(E::custom(INLINE))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<SecretRef, E> {
        Err(E::custom(INLINE))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<SecretRef, E> {
        Err(E::custom(INLINE))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<SecretRef, E> {
        Err(E::custom(INLINE))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<SecretRef, E> {
        Err(E::custom(INLINE))
    }
}

/// A resolved secret value.
#[derive(Clone)]
pub struct Secret(SecretString);

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// Wraps a value read from elsewhere (a key source, for example).
    pub fn new(value: String) -> Self {
        Secret(SecretString::from(value))
    }

    /// The value, for the one place that must hand it on.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl SecretRef {
    /// Checks that exactly one place is named; `at` says where in the file.
    pub fn validate(&self, at: &str) -> Result<()> {
        match (&self.env, &self.file) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err(Error::input(format!(
                "{at}: a secret needs exactly one of `env = \"VAR\"` or `file = \"path\"`"
            ))
            .hint("secrets are never written in the instance file itself")),
        }
    }

    /// Reads the secret. `at` names the field for the error message.
    pub fn resolve(&self, at: &str) -> Result<Secret> {
        self.validate(at)?;
        let path = match (&self.env, &self.file) {
            (_, Some(file)) => file.path(),
            (Some(var), None) => return Self::from_env(var, at),
            (None, None) => unreachable!("validated above"),
        };
        let bytes = Zeroizing::new(fsutil::read_small(
            path,
            MAX_SECRET_FILE,
            &format!("{at}: secret file"),
        )?);
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Error::input(format!(
                "{at}: secret file {} is not UTF-8 text",
                path.display()
            ))
        })?;
        let value = text.strip_suffix('\n').unwrap_or(text);
        let value = value.strip_suffix('\r').unwrap_or(value);
        if value.is_empty() {
            return Err(Error::input(format!(
                "{at}: secret file {} is empty",
                path.display()
            )));
        }
        remember(value);
        Ok(Secret::new(value.to_string()))
    }

    fn from_env(var: &str, at: &str) -> Result<Secret> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => {
                remember(&v);
                Ok(Secret::new(v))
            }
            _ => Err(
                Error::input(format!("{at}: environment variable {var} is not set")).hint(format!(
                    "export {var} before running upshift, or name a file instead"
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::redact::redact;

    #[test]
    fn resolved_secrets_are_scrubbed_from_error_text() {
        std::env::set_var("UPSHIFT_TEST_SCRUB_SECRET", "hunter2-canary-value");
        let secret = SecretRef {
            env: Some("UPSHIFT_TEST_SCRUB_SECRET".into()),
            file: None,
        };
        secret.resolve("test").unwrap();
        let error = Error::failed("migration failed").caused_by(std::io::Error::other(
            "could not connect to postgres://app:hunter2-canary-value@db",
        ));
        assert_eq!(
            error.chain(),
            "migration failed: could not connect to postgres://app:***@db"
        );
        assert_eq!(redact("short ok"), "short ok");
    }
}
