//! Secrets: named in the instance file, never stored in it.
//!
//! A [`SecretRef`] says where a secret lives (an environment variable or a
//! file); resolving it gives a [`Secret`], whose `Debug` prints `***` and which
//! has no `Display`, so a secret cannot end up in a log line or an error
//! message by accident. Error messages name the variable or the file, never
//! the value.

use crate::support::error::{Context, Error, Result};
use crate::support::path::FilePath;
use crate::support::redact::remember;
use serde::Deserialize;
use std::fmt;

/// Where a secret is kept: `{ env = "NAME" }` or `{ file = "path" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// An environment variable of the upshift process.
    pub env: Option<String>,
    /// A file whose contents (trimmed of a final newline) are the secret.
    pub file: Option<FilePath>,
}

/// A resolved secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// Wraps a value read from elsewhere (a key source, for example).
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The value, for the one place that must hand it on.
    pub fn expose(&self) -> &str {
        &self.0
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
        let text = std::fs::read_to_string(path)
            .input_context(|| format!("{at}: cannot read secret file {}", path.display()))?;
        let value = text.strip_suffix('\n').unwrap_or(&text);
        let value = value.strip_suffix('\r').unwrap_or(value);
        if value.is_empty() {
            return Err(Error::input(format!(
                "{at}: secret file {} is empty",
                path.display()
            )));
        }
        remember(value);
        Ok(Secret(value.to_string()))
    }

    fn from_env(var: &str, at: &str) -> Result<Secret> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => {
                remember(&v);
                Ok(Secret(v))
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
