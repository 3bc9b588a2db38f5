//! The signed feed: every standard release listed in version order, each
//! archive's size, sha256 and minisign signature checked against the feed's
//! public key, and the break switch packaged only into the named release.

use std::io::Read;

use sample_server::feed::FeedIndex;
use sample_server::manifest::{Break, Manifest};
use sha2::{Digest, Sha256};

use crate::support::server_bin;

fn manifest_in(archive: &[u8]) -> Manifest {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut names = Vec::new();
    let mut manifest = None;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "bin/sample-server" {
            assert_eq!(entry.header().mode().unwrap() & 0o777, 0o755);
        }
        if path == "release.toml" {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            manifest = Some(toml::from_str(&text).unwrap());
        }
        names.push(path);
    }
    assert_eq!(names, ["bin/sample-server", "release.toml"]);
    manifest.unwrap()
}

#[test]
fn feed_lists_signed_releases_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let feed = sample_server::releases::build_feed(
        dir.path(),
        &server_bin(),
        Some(("2026.2.0", Break::Migration)),
    )
    .unwrap();
    assert!(feed.public_key().starts_with("RW"));
    let public_key = minisign_verify::PublicKey::from_base64(feed.public_key()).unwrap();

    let text = std::fs::read_to_string(dir.path().join("index.json")).unwrap();
    let index: FeedIndex = serde_json::from_str(&text).unwrap();
    let versions: Vec<_> = index.releases.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["2026.1.0", "2026.1.1", "2026.2.0", "2027.1.0"]);
    let published: Vec<_> = index
        .releases
        .iter()
        .map(|r| r.published.as_str())
        .collect();
    assert_eq!(
        published,
        ["2026-01-15", "2026-02-10", "2026-04-01", "2027-01-20"]
    );

    for release in &index.releases {
        let bytes = std::fs::read(dir.path().join(&release.url)).unwrap();
        assert_eq!(release.size, bytes.len() as u64);
        assert_eq!(release.sha256, hex::encode(Sha256::digest(&bytes)));
        let signature = minisign_verify::Signature::decode(&release.signature).unwrap();
        public_key.verify(&bytes, &signature, false).unwrap();
        assert_eq!(
            signature.trusted_comment(),
            format!("version:{} file:{}", release.version, release.url)
        );
        let mut tampered = bytes.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(public_key.verify(&tampered, &signature, false).is_err());

        let manifest = manifest_in(&bytes);
        assert_eq!(manifest.version, release.version);
        let expected = (release.version == "2026.2.0").then_some(Break::Migration);
        assert_eq!(manifest.brk, expected);
    }
}
