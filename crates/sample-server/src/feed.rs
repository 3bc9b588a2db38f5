//! A local release feed signed with minisign, like a vendor's download page:
//! the archives plus `index.json` listing version, relative url, sha256,
//! size, the full minisign signature and the publication date.
//!
//! The signing key is generated per feed and kept in memory only; tests get
//! the public key (the base64 line of a `.pub` file) to trust. The trusted
//! comment `version:<v> file:<name>` binds a signature to its release, so a
//! validly signed archive cannot be passed off as another version.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `index.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedIndex {
    /// Releases, version ascending.
    pub releases: Vec<FeedRelease>,
}

/// One release in `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRelease {
    /// Release version.
    pub version: String,
    /// Archive location relative to the index.
    pub url: String,
    /// Lowercase hex SHA-256 of the archive.
    pub sha256: String,
    /// Archive size in bytes.
    pub size: u64,
    /// The full minisign signature file text.
    pub signature: String,
    /// Publication date, `YYYY-MM-DD`.
    pub published: String,
}

/// A feed folder and the key that signs it.
#[derive(Clone)]
pub struct Feed {
    /// The feed folder (holds `index.json` and the archives).
    pub dir: PathBuf,
    /// Minisign public key, base64 (starts with `RW`).
    pub public_key: String,
    keypair: minisign::KeyPair,
    index: FeedIndex,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("dir", &self.dir)
            .field("public_key", &self.public_key)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Feed {
    /// Creates an empty feed in `dir` with a new signing key.
    pub fn create(dir: &Path) -> Result<Feed> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating feed {}", dir.display()))?;
        let keypair = minisign::KeyPair::generate_unencrypted_keypair()
            .context("generating a minisign key pair")?;
        let feed = Feed {
            dir: dir.to_path_buf(),
            public_key: keypair.pk.to_base64(),
            keypair,
            index: FeedIndex::default(),
        };
        feed.write_index()?;
        Ok(feed)
    }

    /// The minisign public key (base64).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Path of `index.json`.
    pub fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    /// The index as last written.
    pub fn index(&self) -> &FeedIndex {
        &self.index
    }

    /// Copies `archive` into the feed (unless it is already there), signs it
    /// and rewrites `index.json`; publishing a version again replaces it.
    pub fn publish(&mut self, archive: &Path, version: &str, published: &str) -> Result<()> {
        semver::Version::parse(version)
            .with_context(|| format!("release version {version:?} is not semver"))?;
        let name = archive
            .file_name()
            .context("archive path has no file name")?
            .to_string_lossy()
            .into_owned();
        let dest = self.dir.join(&name);
        let same =
            dest.exists() && std::fs::canonicalize(&dest)? == std::fs::canonicalize(archive)?;
        if !same {
            std::fs::copy(archive, &dest)
                .with_context(|| format!("copying {} into the feed", archive.display()))?;
        }
        let bytes = std::fs::read(&dest).with_context(|| format!("reading {}", dest.display()))?;
        let trusted = format!("version:{version} file:{name}");
        let signature = minisign::sign(
            Some(&self.keypair.pk),
            &self.keypair.sk,
            bytes.as_slice(),
            Some(&trusted),
            Some(&format!("signature of {name}")),
        )
        .context("signing the archive")?
        .into_string();
        self.index.releases.retain(|r| r.version != version);
        self.index.releases.push(FeedRelease {
            version: version.to_owned(),
            url: name,
            sha256: hex::encode(Sha256::digest(&bytes)),
            size: bytes.len() as u64,
            signature,
            published: published.to_owned(),
        });
        self.index
            .releases
            .sort_by_key(|r| semver::Version::parse(&r.version).expect("checked when published"));
        self.write_index()
    }

    fn write_index(&self) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.index)?;
        crate::fsutil::write_atomic(&self.index_path(), &json)
    }
}
