//! A copy of Octopus' public version feed, for a test to serve over HTTP
//! ([`crate::FeedServer`]): `download/upgrade/v3` (a JSON array of
//! `{"Version": ...}`, oldest first, as Octopus documents it) and, per
//! version, a stand-in MSI at `octopus/Octopus.<version>-x64.msi`, the path
//! Octopus documents under `https://download.octopusdeploy.com/`.

use super::files::sha256_hex;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// Where the feed is, below the served folder.
pub const FEED_PATH: &str = "download/upgrade/v3";
/// The artifact URL below the served folder, `{version}` to be replaced.
pub const ARTIFACT_PATH: &str = "octopus/Octopus.{version}-x64.msi";

/// Writes the feed listing `versions` (in this order) and a stand-in MSI for
/// each under `dir`; returns each version's MSI SHA-256 (what an operator
/// pins in `[release.sha256]`).
pub fn write_feed(dir: &Path, versions: &[&str]) -> BTreeMap<String, String> {
    let entries: Vec<_> = versions.iter().map(|v| json!({ "Version": v })).collect();
    let feed = dir.join(FEED_PATH);
    std::fs::create_dir_all(feed.parent().expect("a parent")).expect("create the feed folder");
    std::fs::write(&feed, serde_json::to_vec(&entries).expect("json")).expect("write the feed");
    let mut shas = BTreeMap::new();
    for version in versions {
        let msi = dir.join(ARTIFACT_PATH.replace("{version}", version));
        std::fs::create_dir_all(msi.parent().expect("a parent")).expect("create octopus/");
        let package = json!({
            "ProductName": "Octopus Deploy Server",
            "ProductVersion": version,
            "Padding": "x".repeat(4096),
        });
        let bytes = serde_json::to_vec(&package).expect("json");
        std::fs::write(&msi, &bytes).expect("write the MSI");
        shas.insert(version.to_string(), sha256_hex(&bytes));
    }
    shas
}
