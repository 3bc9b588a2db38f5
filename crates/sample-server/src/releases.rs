//! The standard set of sample releases and a feed that publishes them all,
//! so every test and the demo upgrade through the same history:
//! two patch releases on schema 1, a minor release that migrates to 2, and a
//! major release (published after a typical licence expires) that adds 3.

use std::path::Path;

use anyhow::Result;

use crate::feed::Feed;
use crate::manifest::{Break, Manifest};
use crate::package::package_release;

/// `(manifest, published)` of every standard release, oldest first.
pub fn standard_releases() -> Vec<(Manifest, &'static str)> {
    vec![
        (Manifest::new("2026.1.0", 1), "2026-01-15"),
        (Manifest::new("2026.1.1", 1), "2026-02-10"),
        (Manifest::new("2026.2.0", 2), "2026-04-01"),
        (Manifest::new("2027.1.0", 3), "2027-01-20"),
    ]
}

/// Packages every standard release from `server_bin` into a new feed in
/// `dir`, turning on `brk`'s switch in the named version, and publishes them.
pub fn build_feed(dir: &Path, server_bin: &Path, brk: Option<(&str, Break)>) -> Result<Feed> {
    let mut feed = Feed::create(dir)?;
    for (mut manifest, published) in standard_releases() {
        if let Some((version, switch)) = brk {
            if version == manifest.version {
                manifest.brk = Some(switch);
            }
        }
        let archive = package_release(server_bin, &manifest, dir)?;
        feed.publish(&archive, &manifest.version, published)?;
    }
    if let Some((version, _)) = brk {
        anyhow::ensure!(
            feed.index().releases.iter().any(|r| r.version == version),
            "no standard release {version} to break"
        );
    }
    Ok(feed)
}
