//! Octopus Deploy's public version feed (`release.format = "octopus"`).
//!
//! What Octopus documents about it ("Automating Octopus upgrades", and the
//! runbook in `../shared/reference/`): `https://octopus.com/download/upgrade/v3`
//! answers a JSON array with one object per released version, newest last,
//! whose `Version` field is the version; Octopus' own scripts take
//! `$versions[-1].Version` as the newest. The feed also holds each version's
//! release date, but the field's name is not documented, so it is not read
//! (the licence preflight for Octopus compares versions, not dates).
//!
//! The feed names no artifact and no checksum. The artifact URL comes from
//! `release.artifact_url` with `{version}` replaced by the `Version` text
//! as written (Octopus documents
//! `https://download.octopusdeploy.com/octopus/Octopus.<version>-x64.msi`);
//! the SHA-256 must come from the operator's pins (`[release.sha256]`).
//!
//! An entry without a `Version` string means the feed changed shape: the
//! whole feed is refused. An entry whose `Version` is not a version upshift
//! can order (Octopus 2.x used four numbers) is skipped: no installation
//! upshift can upgrade has that major, and the same-major rule never picks it.

use super::index::{self, Location};
use super::Release;
use crate::support::error::{Error, Result};
use crate::support::template::Vars;
use crate::Version;

/// Parses the feed; errors start with `what` (which names the source).
pub(super) fn parse(
    bytes: &[u8],
    location: &Location,
    artifact_url: &str,
    what: &str,
) -> Result<Vec<Release>> {
    let entries: Vec<serde_json::Value> = serde_json::from_slice(bytes).map_err(|e| {
        Error::input(format!(
            "{what}: not Octopus' version feed, a JSON array of versions ({e})"
        ))
    })?;
    let mut releases = Vec::with_capacity(entries.len());
    let mut skipped = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(text) = entry.get("Version").and_then(|v| v.as_str()) else {
            return Err(Error::input(format!(
                "{what}: entry {i} has no `Version` string"
            )));
        };
        let Ok(version) = text.parse::<Version>() else {
            skipped.push(text);
            continue;
        };
        let mut vars = Vars::default();
        vars.set("version", text.trim());
        let url = location.resolve(&vars.render(artifact_url));
        let file_name = index::file_name(&url).ok_or_else(|| {
            Error::input(format!(
                "{what}: release.artifact_url gives `{url}` for {version}, which does not end in a file name"
            ))
        })?;
        releases.push(Release {
            version,
            url,
            file_name,
            sha256: None,
            size: None,
            signature: None,
            published: None,
        });
    }
    if !skipped.is_empty() {
        tracing::debug!("{what}: skipped versions upshift cannot order: {skipped:?}");
    }
    index::finish(releases, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://download.octopusdeploy.com/octopus/Octopus.{version}-x64.msi";

    fn feed(text: &str) -> Result<Vec<Release>> {
        let loc = Location::Http("https://octopus.com/download/upgrade/v3".into());
        parse(text.as_bytes(), &loc, URL, "release source o")
    }

    #[test]
    fn reads_versions_and_builds_artifact_urls() {
        let list = feed(
            r#"[{"Version":"2.6.5.1010"},{"Version":"2025.4.10333","Other":1},
                {"Version":"2026.1.5"},{"Version":"2025.3.2"}]"#,
        )
        .unwrap();
        let versions: Vec<String> = list.iter().map(|r| r.version.to_string()).collect();
        assert_eq!(versions, ["2025.3.2", "2025.4.10333", "2026.1.5"]);
        assert_eq!(
            list[2].url,
            "https://download.octopusdeploy.com/octopus/Octopus.2026.1.5-x64.msi"
        );
        assert_eq!(list[2].file_name, "Octopus.2026.1.5-x64.msi");
        assert!(list
            .iter()
            .all(|r| r.sha256.is_none() && r.signature.is_none() && r.published.is_none()));
    }

    #[test]
    fn a_feed_of_another_shape_is_refused() {
        for (text, expected) in [
            (r#"{"releases":[]}"#, "not Octopus' version feed"),
            (
                r#"[{"version":"2026.1.0"}]"#,
                "entry 0 has no `Version` string",
            ),
            (
                r#"[{"Version":"2026.1.0"},{"Version":"2026.1"}]"#,
                "listed twice",
            ),
        ] {
            let err = feed(text).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input);
            assert!(err.to_string().starts_with("release source o: "), "{err}");
            assert!(err.to_string().contains(expected), "{err}");
        }
    }
}
