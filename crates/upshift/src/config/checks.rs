//! `[[checks]]`: how a started server proves it works.

use super::Headers;
use serde::Deserialize;
use std::time::Duration;

/// One check, run after start (and by `upshift check`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum CheckConfig {
    /// GET answers `status`; with `pointer`, the JSON there equals `equals`.
    Http {
        name: Option<String>,
        url: String,
        #[serde(default = "default_status")]
        status: u16,
        pointer: Option<String>,
        equals: Option<serde_json::Value>,
        #[serde(default)]
        headers: Headers,
        /// Retried until this deadline.
        #[serde(default = "default_within", with = "humantime_serde")]
        within: Duration,
    },
    /// The command exits 0 (templated).
    Command {
        name: Option<String>,
        run: Vec<String>,
        #[serde(default = "default_within", with = "humantime_serde")]
        within: Duration,
    },
    /// A query on the instance's database returns `equals` (first column of
    /// the first row).
    Sql {
        name: Option<String>,
        query: String,
        equals: serde_json::Value,
    },
    /// The running server reports the target version at `url`: at `pointer`
    /// in a JSON answer, or as the whole answer in plain text.
    Version {
        name: Option<String>,
        url: String,
        /// Where the version is in the JSON answer, for example `/Version`.
        pointer: Option<String>,
        /// How the answer is read; see [`version_in`].
        format: Option<BodyFormat>,
        #[serde(default)]
        headers: Headers,
        #[serde(default = "default_within", with = "humantime_serde")]
        within: Duration,
    },
}

/// How a version check reads its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// JSON, the version a string at the pointer (the whole answer without).
    Json,
    /// Plain text: the trimmed body is the version.
    Text,
}

/// Where a version check finds the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionIn<'a> {
    /// At this JSON pointer of a JSON answer.
    Json(&'a str),
    /// The trimmed body.
    Text,
}

/// Where a version check with `pointer` and `format` finds the version:
/// JSON when it names a pointer or `format = "json"`, else plain text.
pub fn version_in(pointer: Option<&str>, format: Option<BodyFormat>) -> VersionIn<'_> {
    match (format, pointer) {
        (Some(BodyFormat::Text), _) => VersionIn::Text,
        (_, Some(pointer)) => VersionIn::Json(pointer),
        (Some(BodyFormat::Json), None) => VersionIn::Json(""),
        (None, None) => VersionIn::Text,
    }
}

impl CheckConfig {
    /// What serde cannot refuse: a plain-text version check with a pointer.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            CheckConfig::Version {
                pointer: Some(pointer),
                format: Some(BodyFormat::Text),
                ..
            } => Err(format!(
                "`pointer = \"{pointer}\"` needs a JSON answer, but `format = \"text\"` reads the body as plain text; drop one of them"
            )),
            _ => Ok(()),
        }
    }
}

fn default_status() -> u16 {
    200
}

fn default_within() -> Duration {
    Duration::from_secs(60)
}
