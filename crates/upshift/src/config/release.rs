//! `[release]`: where new versions come from, and how a download is proven
//! to be the publisher's.
//!
//! Trust is explicit. `verify = "minisign"` (the default) needs the
//! publisher's public key and a signature per release; `verify = "sha256"`
//! is for publishers that sign nothing (Octopus Deploy): each release's
//! SHA-256 then comes from the index or from an operator's pin in
//! `[release.sha256]`, and a release with neither cannot be downloaded.
//! Nothing is ever installed unchecked.

use super::FilePath;
use crate::support::error::{Error, Result};
use crate::Version;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The release source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// An `http(s)://` URL of an index (JSON), or a local folder holding
    /// `index.json`, or the path of an index file.
    pub source: String,
    /// How the index is written.
    #[serde(default)]
    pub format: ReleaseFormat,
    /// `format = "octopus"`: the artifact of each version, `{version}` replaced.
    pub artifact_url: Option<String>,
    /// How a download is proven authentic.
    #[serde(default)]
    pub verify: Verify,
    /// The publisher's minisign public key (the `RW...` line of its `.pub`);
    /// required with `verify = "minisign"`, refused with `"sha256"`.
    pub public_key: Option<String>,
    /// Operator-pinned SHA-256 per version (`"2026.1.5" = "<64 hex>"`).
    #[serde(default)]
    pub sha256: BTreeMap<String, String>,
    /// Where downloads are kept; default `<state_dir>/cache`.
    pub cache_dir: Option<FilePath>,
    /// Accept a release whose SHA-256 only a plain-http index vouches for
    /// (`verify = "sha256"`, no pin); `plan` still warns.
    #[serde(default)]
    pub allow_insecure_source: bool,
    /// Timeout for each HTTP request to the source.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

/// The index's format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseFormat {
    /// upshift's own index: `{"releases": [{version, url, sha256, signature, ...}]}`.
    #[default]
    Upshift,
    /// Octopus Deploy's version feed: a JSON array of `{"Version": ...}`.
    Octopus,
}

/// How a downloaded release is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verify {
    /// SHA-256 and the publisher's minisign signature.
    #[default]
    Minisign,
    /// SHA-256 only, from the index or a pin: for publishers that sign nothing.
    Sha256,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl ReleaseConfig {
    /// Checks the combination of fields; `at(field)` names a field in errors.
    pub fn validate(&self, at: &dyn Fn(&str) -> String) -> Result<()> {
        let refuse = |field: &str, why: &str| Err(Error::input(format!("{}: {why}", at(field))));
        match (self.verify, &self.public_key) {
            (Verify::Minisign, None) => {
                return Err(Error::input(format!(
                    "{}: required with verify = \"minisign\" (the default)",
                    at("release.public_key")
                ))
                .hint("give the publisher's minisign public key, or set verify = \"sha256\" for a publisher that signs nothing"))
            }
            (Verify::Sha256, Some(_)) => {
                return refuse(
                    "release.public_key",
                    "verify = \"sha256\" checks no signature, so a public key would be ignored; remove it or use verify = \"minisign\"",
                )
            }
            _ => {}
        }
        match (self.format, &self.artifact_url) {
            (ReleaseFormat::Octopus, None) => {
                return Err(Error::input(format!(
                    "{}: required with format = \"octopus\"",
                    at("release.artifact_url")
                ))
                .hint("for example \"https://download.octopusdeploy.com/octopus/Octopus.{version}-x64.msi\""))
            }
            (ReleaseFormat::Upshift, Some(_)) => {
                return refuse(
                    "release.artifact_url",
                    "only used with format = \"octopus\" (upshift's index names each artifact)",
                )
            }
            _ => {}
        }
        if self.format == ReleaseFormat::Octopus && self.verify == Verify::Minisign {
            return Err(Error::input(format!(
                "{}: Octopus' version feed carries no signatures",
                at("release.verify")
            ))
            .hint("set verify = \"sha256\" and pin each release's SHA-256 in [release.sha256]"));
        }
        if let Some(url) = &self.artifact_url {
            crate::support::template::check(url)
                .map_err(|e| Error::input(format!("{}: {e}", at("release.artifact_url"))))?;
        }
        self.pins().map(|_| ()).map_err(|e| {
            Error::input(format!("{}: {e}", at("release.sha256")))
                .hint("pins look like \"2026.1.5\" = \"<64 hex digits>\"")
        })
    }

    /// The pinned SHA-256 values by version, lowercase.
    pub fn pins(&self) -> Result<BTreeMap<Version, String>> {
        let mut pins = BTreeMap::new();
        for (version, sha) in &self.sha256 {
            let parsed: Version = version.parse()?;
            let sha = sha.to_ascii_lowercase();
            if !is_sha256(&sha) {
                return Err(Error::input(format!(
                    "the pin of {version} is not 64 hex digits"
                )));
            }
            if pins.insert(parsed, sha).is_some() {
                return Err(Error::input(format!("{version} is pinned twice")));
            }
        }
        Ok(pins)
    }
}

/// Whether `text` is 64 lowercase or uppercase hex digits.
pub(crate) fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        release: ReleaseConfig,
    }

    fn check(body: &str) -> Result<ReleaseConfig> {
        let file: File = toml::from_str(&format!("[release]\nsource = \"feed\"\n{body}"))
            .map_err(|e| Error::input(e.to_string()))?;
        file.release.validate(&|f| f.to_string())?;
        Ok(file.release)
    }

    #[test]
    fn minisign_is_the_default_and_needs_a_key() {
        let cfg = check("public_key = \"RWx\"").unwrap();
        assert_eq!(
            (cfg.format, cfg.verify),
            (ReleaseFormat::Upshift, Verify::Minisign)
        );
        let err = check("").unwrap_err();
        assert!(
            err.to_string().starts_with("release.public_key: required"),
            "{err}"
        );
    }

    #[test]
    fn octopus_feeds_need_sha256_trust_and_an_artifact_url() {
        let sha = "AB".repeat(32);
        let cfg = check(&format!(
            "format = \"octopus\"\nverify = \"sha256\"\nartifact_url = \"https://x/Octopus.{{version}}-x64.msi\"\n[release.sha256]\n\"2026.1\" = \"{sha}\"\n"
        ))
        .unwrap();
        let pins = cfg.pins().unwrap();
        assert_eq!(pins[&"2026.1.0".parse().unwrap()], "ab".repeat(32));

        let cases = [
            ("format = \"octopus\"\nverify = \"sha256\"", "release.artifact_url: required"),
            (
                "format = \"octopus\"\npublic_key = \"RWx\"\nartifact_url = \"u\"",
                "release.verify: Octopus' version feed carries no signatures",
            ),
            ("verify = \"sha256\"\npublic_key = \"RWx\"", "release.public_key: verify"),
            ("public_key = \"RWx\"\nartifact_url = \"u\"", "release.artifact_url: only used"),
            (
                "format = \"octopus\"\nverify = \"sha256\"\nartifact_url = \"u/{versoin}\"",
                "unknown placeholder",
            ),
            (
                "verify = \"sha256\"\n[release.sha256]\n\"2026.1.0\" = \"abc\"",
                "release.sha256: the pin of 2026.1.0 is not 64 hex",
            ),
            (
                &format!("verify = \"sha256\"\n[release.sha256]\n\"x\" = \"{sha}\""),
                "release.sha256: `x` is not a version",
            ),
            (
                &format!("verify = \"sha256\"\n[release.sha256]\n\"2026.1\" = \"{sha}\"\n\"2026.1.0\" = \"{sha}\""),
                "pinned twice",
            ),
        ];
        for (body, expected) in cases {
            let err = check(body).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input);
            assert!(err.to_string().contains(expected), "{body}: {err}");
        }
        assert!(check("verify = \"gpg\"").is_err());
        assert!(check("format = \"github\"\npublic_key = \"RWx\"").is_err());
    }
}
