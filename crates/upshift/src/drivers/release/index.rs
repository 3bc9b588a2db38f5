//! The release index: where it lives, and reading it into [`Release`]s.
//!
//! The index is JSON (`{"releases": [...]}`; unknown fields are ignored so
//! publishers can add their own). Everything a later step relies on is
//! checked here, before anything changes: versions parse and are unique,
//! SHA-256 values are hex, dates are `YYYY-MM-DD`, and every artifact has a
//! distinct, plain file name, since the name becomes a path in the download
//! cache.

use super::Release;
use crate::config::is_sha256;
use crate::support::error::{Error, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Where the index is read from.
#[derive(Debug, Clone)]
pub(super) enum Location {
    /// An `http(s)://` URL.
    Http(String),
    /// A local index file.
    File(PathBuf),
}

impl Location {
    /// Reads `release.source`: a URL, a folder holding `index.json`, or an index file.
    pub(super) fn parse(source: &str) -> Location {
        if is_http(source) {
            return Location::Http(source.to_string());
        }
        let path = PathBuf::from(source.strip_prefix("file://").unwrap_or(source));
        if path.is_dir() {
            Location::File(path.join("index.json"))
        } else {
            Location::File(path)
        }
    }

    /// Resolves an artifact URL from the index against the index's location.
    pub(super) fn resolve(&self, url: &str) -> String {
        if is_http(url) {
            return url.to_string();
        }
        if let Some(path) = url.strip_prefix("file://") {
            return path.to_string();
        }
        match self {
            Location::Http(index) => {
                let after_scheme = index.find("://").map_or(0, |i| i + 3);
                let origin_end = index[after_scheme..]
                    .find('/')
                    .map_or(index.len(), |i| after_scheme + i);
                if url.starts_with('/') {
                    format!("{}{url}", &index[..origin_end])
                } else {
                    let path = &index[..index.find(['?', '#']).unwrap_or(index.len())];
                    let folder_end = path.rfind('/').filter(|&i| i >= origin_end);
                    match folder_end {
                        Some(i) => format!("{}{url}", &path[..=i]),
                        None => format!("{path}/{url}"),
                    }
                }
            }
            Location::File(index) => crate::support::fsutil::parent(index)
                .join(url)
                .to_string_lossy()
                .into_owned(),
        }
    }
}

/// Whether `url` is fetched over HTTP.
pub(super) fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

#[derive(Deserialize)]
struct RawIndex {
    releases: Vec<RawRelease>,
}

#[derive(Deserialize)]
struct RawRelease {
    version: String,
    url: String,
    sha256: String,
    size: Option<u64>,
    signature: Option<String>,
    published: Option<String>,
}

/// Parses an index; errors start with `what` (which names the source).
pub(super) fn parse(bytes: &[u8], location: &Location, what: &str) -> Result<Vec<Release>> {
    let raw: RawIndex = serde_json::from_slice(bytes)
        .map_err(|e| Error::input(format!("{what}: the index is not valid JSON ({e})")))?;
    let mut releases = Vec::with_capacity(raw.releases.len());
    for (i, r) in raw.releases.into_iter().enumerate() {
        let at = |problem: String| Error::input(format!("{what}: releases[{i}]: {problem}"));
        let version = r.version.parse().map_err(|e: Error| at(e.to_string()))?;
        let url = location.resolve(&r.url);
        let file_name = file_name(&url)
            .ok_or_else(|| at(format!("`{}` does not end in a file name", r.url)))?;
        let sha256 = r.sha256.to_ascii_lowercase();
        if !is_sha256(&sha256) {
            return Err(at(format!("sha256 `{}` is not 64 hex digits", r.sha256)));
        }
        if let Some(date) = &r.published {
            if !is_date(date) {
                return Err(at(format!("published `{date}` is not a YYYY-MM-DD date")));
            }
        }
        releases.push(Release {
            version,
            url,
            file_name,
            sha256: Some(sha256),
            size: r.size,
            signature: r.signature,
            published: r.published,
        });
    }
    finish(releases, what)
}

/// Sorts releases by version and refuses a version or a file name listed
/// twice (the file name is the artifact's name in the download cache).
pub(super) fn finish(mut releases: Vec<Release>, what: &str) -> Result<Vec<Release>> {
    releases.sort_by(|a, b| a.version.cmp(&b.version));
    if let Some(w) = releases.windows(2).find(|w| w[0].version == w[1].version) {
        return Err(Error::input(format!(
            "{what}: version {} is listed twice",
            w[1].version
        )));
    }
    let mut files = HashSet::new();
    for r in &releases {
        if !files.insert(r.file_name.as_str()) {
            return Err(Error::input(format!(
                "{what}: the file name `{}` is used twice (again by {})",
                r.file_name, r.version
            )));
        }
    }
    Ok(releases)
}

/// The last segment of a URL or path, if it is a plain file name.
pub(super) fn file_name(url: &str) -> Option<String> {
    let path = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let name = Path::new(path).file_name()?.to_str()?;
    (!path.ends_with('/') && name != "." && name != "..").then(|| name.to_string())
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn resolves_urls_against_the_index() {
        let http = Location::Http("https://dl.example.com/sample/index.json?x=1".into());
        assert_eq!(
            http.resolve("s-1.tar.gz"),
            "https://dl.example.com/sample/s-1.tar.gz"
        );
        assert_eq!(
            http.resolve("/other/s.zip"),
            "https://dl.example.com/other/s.zip"
        );
        assert_eq!(http.resolve("http://cdn/s.zip"), "http://cdn/s.zip");
        assert_eq!(http.resolve("file:///srv/s.zip"), "/srv/s.zip");
        let bare = Location::Http("http://host:8080".into());
        assert_eq!(bare.resolve("s.zip"), "http://host:8080/s.zip");
        let local = Location::File("/srv/releases/index.json".into());
        assert_eq!(local.resolve("s.zip"), "/srv/releases/s.zip");
        assert_eq!(local.resolve("/abs/s.zip"), "/abs/s.zip");
    }

    fn index(entries: &str) -> Result<Vec<Release>> {
        let loc = Location::File("/srv/index.json".into());
        parse(
            format!(r#"{{"releases":[{entries}]}}"#).as_bytes(),
            &loc,
            "release source /srv",
        )
    }

    fn entry(version: &str, url: &str, sha: &str, published: &str) -> String {
        format!(
            r#"{{"version":"{version}","url":"{url}","sha256":"{sha}","signature":"s","published":"{published}","extra":1}}"#
        )
    }

    #[test]
    fn parses_sorted_and_checked() {
        let sha = "AB".repeat(32);
        let list = index(&format!(
            "{},{}",
            entry("2026.2.0", "b.tar.gz", &sha, "2026-02-01"),
            entry("2026.1", "a.tar.gz", &sha, "2026-01-15")
        ))
        .unwrap();
        assert_eq!(list[0].version.to_string(), "2026.1.0");
        assert_eq!(list[0].url, "/srv/a.tar.gz");
        assert_eq!(list[0].file_name, "a.tar.gz");
        assert_eq!(list[1].sha256, Some("ab".repeat(32)));
        assert_eq!(list[1].published.as_deref(), Some("2026-02-01"));
        assert_eq!(list[1].size, None);
    }

    #[test]
    fn rejects_bad_entries() {
        let sha = "ab".repeat(32);
        let cases = [
            (entry("2026.x", "a.zip", &sha, "2026-01-01"), "2026.x"),
            (entry("1.0.0", "dir/", &sha, "2026-01-01"), "file name"),
            (entry("1.0.0", "a.zip", "abc", "2026-01-01"), "64 hex"),
            (entry("1.0.0", "a.zip", &sha, "15.01.2026"), "YYYY-MM-DD"),
            (
                format!(
                    "{},{}",
                    entry("1.0.0", "a.zip", &sha, "2026-01-01"),
                    entry("v1.0", "b.zip", &sha, "2026-01-01")
                ),
                "listed twice",
            ),
            (
                format!(
                    "{},{}",
                    entry("1.0.0", "a.zip", &sha, "2026-01-01"),
                    entry("1.1.0", "x/a.zip", &sha, "2026-01-01")
                ),
                "used twice",
            ),
        ];
        for (entries, expected) in cases {
            let err = index(&entries).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Input);
            assert!(
                err.to_string().starts_with("release source /srv: "),
                "{err}"
            );
            assert!(err.to_string().contains(expected), "{err}");
        }
        assert!(index("{")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
    }
}
