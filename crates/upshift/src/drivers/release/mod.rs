//! The release source: which versions exist, and getting one onto this
//! machine, proven authentic.
//!
//! [`Source::list`] reads the index (HTTP, or a local folder or file) and
//! runs in preflight, so every problem with it is bad input: nothing has
//! changed yet. Two index formats exist: upshift's own (`index.rs`) and
//! Octopus Deploy's version feed (`octopus.rs`); operator-pinned SHA-256
//! values (`[release.sha256]`) are applied to both. [`Source::fetch`]
//! downloads an artifact into the cache as `<file>.part` (resumable, see
//! `fetch.rs`), verifies it (see `verify.rs`: the SHA-256 always, the
//! minisign signature unless `verify = "sha256"`) and only then renames it
//! to `<file>`. What it hands on is never the cached file but a private copy
//! verified after it was made (see `artifact.rs`), so swapping the cached
//! file after verification changes nothing. The cache folder is created
//! 0700 and refused if other users can write to it. A file that fails
//! verification is deleted, so the next attempt starts clean.
//!
//! A plain-http index whose SHA-256 is all there is to check (`verify =
//! "sha256"`, no pin) proves nothing: whoever can change the download can
//! change the index. [`Source::trust_warning`] says so; `plan` shows it and
//! a run refuses such a release unless `allow_insecure_source = true`.

mod artifact;
mod fetch;
mod index;
mod octopus;
mod verify;

use crate::config::{ReleaseConfig, ReleaseFormat};
use crate::drivers::http;
use crate::support::error::{Context, Error, Result};
use crate::support::{fsutil, private_dir};
use crate::Version;
pub use artifact::Artifact;
use index::Location;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One release listed in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    /// The artifact: an absolute `http(s)://` URL or a local path.
    pub url: String,
    /// The artifact's file name (its name in the download cache).
    pub file_name: String,
    /// Lowercase hex; `None` when neither the index nor a pin gives one
    /// (such a release cannot be downloaded).
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// The full text of the minisign `.minisig` file, if the index has one.
    pub signature: Option<String>,
    /// `YYYY-MM-DD`.
    pub published: Option<String>,
}

/// A configured release source.
#[derive(Debug)]
pub struct Source {
    /// `release.source` as written, for messages.
    name: String,
    location: Location,
    format: ReleaseFormat,
    artifact_url: Option<String>,
    /// `None` with `verify = "sha256"`.
    key: Option<minisign_verify::PublicKey>,
    pins: BTreeMap<Version, String>,
    cache_dir: PathBuf,
    allow_insecure: bool,
    client: http::Client,
    timeout: Duration,
}

impl Source {
    /// A source from `[release]`; downloads go to `cache_dir` (the caller
    /// resolves `release.cache_dir` or its default).
    pub fn new(cfg: &ReleaseConfig, cache_dir: PathBuf) -> Result<Source> {
        Ok(Source {
            name: cfg.source.clone(),
            location: Location::parse(&cfg.source),
            format: cfg.format,
            artifact_url: cfg.artifact_url.clone(),
            key: cfg
                .public_key
                .as_deref()
                .map(verify::public_key)
                .transpose()?,
            pins: cfg.pins()?,
            cache_dir,
            allow_insecure: cfg.allow_insecure_source,
            client: http::Client::new(cfg.timeout),
            timeout: cfg.timeout,
        })
    }

    /// Every release in the index, oldest first, with pinned SHA-256 values applied.
    pub fn list(&self) -> Result<Vec<Release>> {
        let what = format!("release source {}", self.name);
        let hint = "check release.source in the instance file and that it is reachable; nothing was changed";
        let bytes = match &self.location {
            Location::Http(url) => {
                let answer = self
                    .client
                    .get(url, &[])
                    .map_err(|e| Error::input(format!("{what}: {}", e.chain())).hint(hint))?;
                if !answer.ok() {
                    return Err(Error::input(format!(
                        "{what}: GET {url} answered {}",
                        answer.status
                    ))
                    .hint(hint));
                }
                answer.body
            }
            Location::File(path) => std::fs::read(path).map_err(|e| {
                Error::input(format!("{what}: cannot read {} ({e})", path.display())).hint(hint)
            })?,
        };
        let mut releases = match (self.format, &self.artifact_url) {
            (ReleaseFormat::Octopus, Some(url)) => {
                octopus::parse(&bytes, &self.location, url, &what)
            }
            _ => index::parse(&bytes, &self.location, &what),
        }
        .map_err(|e| e.hint("fix the index or ask its publisher to; nothing was changed"))?;
        for release in &mut releases {
            let Some(pin) = self.pins.get(&release.version) else {
                continue;
            };
            match &release.sha256 {
                Some(listed) if listed != pin => {
                    return Err(Error::input(format!(
                        "{what}: the index gives {} the SHA-256 {listed}, but release.sha256 pins {pin}",
                        release.version
                    ))
                    .hint("the index or the pin is wrong; find out which before going on. Nothing was changed"))
                }
                _ => release.sha256 = Some(pin.clone()),
            }
        }
        Ok(releases)
    }

    /// Refuses a release that could not be verified once downloaded: one
    /// without a SHA-256, or without a signature when signatures are
    /// checked; and a download cache that other users can write to.
    pub fn check_verifiable(&self, release: &Release) -> Result<()> {
        verify::verifiable(release, self.key.is_some())?;
        private_dir::check(&self.cache_dir, "the download cache")
    }

    /// Why `release` cannot be trusted even once verified: its SHA-256 is
    /// the only proof and came from a plain-http index, unpinned. `None`
    /// when it can, or when `allow_insecure_source` accepts the risk.
    pub fn trust_warning(&self, release: &Release) -> Option<Error> {
        let Location::Http(url) = &self.location else {
            return None;
        };
        let plain = url
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
        if !plain
            || self.key.is_some()
            || self.pins.contains_key(&release.version)
            || self.allow_insecure
        {
            return None;
        }
        Some(
            Error::input(format!(
                "release {}: its SHA-256 comes from {url} over plain http, and nothing else vouches for it (verify = \"sha256\", no pin): anyone on the way could change the release and its hash together",
                release.version
            ))
            .hint(format!(
                "serve the index over https, pin the hash under [release.sha256] (\"{}\" = \"<64 hex digits>\"), or accept the risk with allow_insecure_source = true in [release]",
                release.version
            )),
        )
    }

    /// The verified artifact of `release`, downloading it into the cache
    /// if needed. `progress(done, total)` is called as bytes arrive.
    pub fn fetch(
        &self,
        release: &Release,
        progress: &dyn Fn(u64, Option<u64>),
    ) -> Result<Artifact> {
        verify::verifiable(release, self.key.is_some())?;
        private_dir::create(&self.cache_dir, "the download cache")?;
        let done = self.cache_dir.join(&release.file_name);
        if done.exists() {
            match self.verified_copy(&done, release) {
                Ok(artifact) => return Ok(artifact),
                Err(e) => {
                    tracing::warn!(
                        "cached {} is not the release, downloading again: {e}",
                        done.display()
                    );
                    remove(&done);
                }
            }
        }
        let part = self.cache_dir.join(format!("{}.part", release.file_name));
        fetch::download(self.client.agent(), self.timeout, release, &part, progress)?;
        let artifact = self
            .verified_copy(&part, release)
            .inspect_err(|_| remove(&part))?;
        std::fs::rename(&part, &done)
            .context(|| format!("cannot rename into {}", done.display()))?;
        fsutil::sync_dir(&self.cache_dir)?;
        Ok(artifact)
    }

    /// A private copy of `file`, verified as the release.
    fn verified_copy(&self, file: &std::path::Path, release: &Release) -> Result<Artifact> {
        let artifact = Artifact::copy(file, &self.cache_dir, &release.file_name)?;
        verify::check(artifact.path(), release, self.key.as_ref())?;
        Ok(artifact)
    }
}

/// Deletes a file that failed verification; failing that is only logged,
/// since the verification error is the one that matters.
fn remove(path: &std::path::Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!("cannot delete {}: {e}", path.display());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    /// A minisign key pair that signs test releases.
    pub(crate) struct Signer(minisign::KeyPair);

    impl Signer {
        pub(crate) fn new() -> Signer {
            Signer(minisign::KeyPair::generate_unencrypted_keypair().unwrap())
        }

        pub(crate) fn public_key(&self) -> String {
            self.0.pk.to_base64()
        }

        /// The `.minisig` text for `data` with this trusted comment.
        pub(crate) fn sign(&self, data: &[u8], comment: &str) -> String {
            minisign::sign(Some(&self.0.pk), &self.0.sk, data, Some(comment), None)
                .unwrap()
                .into_string()
        }
    }

    #[derive(Default)]
    struct ServerState {
        files: HashMap<String, Vec<u8>>,
        ignore_ranges: bool,
        /// Send only this many body bytes, then hang up (a dropped link).
        cut_after: Option<usize>,
        /// Each request's path and Range header.
        requests: Vec<(String, Option<String>)>,
        body_bytes: usize,
    }

    /// A real HTTP/1.1 server on localhost that honours `Range: bytes=N-`.
    struct Server {
        base: String,
        state: Arc<Mutex<ServerState>>,
    }

    impl Server {
        fn start(files: HashMap<String, Vec<u8>>) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let state = Arc::new(Mutex::new(ServerState {
                files,
                ..Default::default()
            }));
            let shared = state.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    Self::answer(stream, &shared);
                }
            });
            Server { base, state }
        }

        fn answer(mut stream: std::net::TcpStream, state: &Mutex<ServerState>) {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range = None;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("range") {
                        range = Some(value.trim().to_string());
                    }
                }
            }
            let mut s = state.lock().unwrap();
            s.requests.push((path.clone(), range.clone()));
            let Some(file) = s.files.get(&path).cloned() else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                return;
            };
            let from = range.filter(|_| !s.ignore_ranges).and_then(|r| {
                r.strip_prefix("bytes=")?
                    .strip_suffix('-')?
                    .parse::<usize>()
                    .ok()
            });
            let head = match from {
                Some(from) => format!(
                    "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes {from}-{}/{}\r\ncontent-length: {}\r\n",
                    file.len() - 1,
                    file.len(),
                    file.len() - from
                ),
                None => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n", file.len()),
            };
            let body = &file[from.unwrap_or(0)..];
            let body = &body[..s.cut_after.map_or(body.len(), |c| c.min(body.len()))];
            s.body_bytes += body.len();
            let _ = stream.write_all(format!("{head}connection: close\r\n\r\n").as_bytes());
            let _ = stream.write_all(body);
        }

        fn with<T>(&self, f: impl FnOnce(&mut ServerState) -> T) -> T {
            f(&mut self.state.lock().unwrap())
        }
    }

    /// A signed release artifact and the index that lists it.
    struct Published {
        signer: Signer,
        data: Vec<u8>,
        index: serde_json::Value,
    }

    fn publish(versions: &[&str]) -> Published {
        let signer = Signer::new();
        let data: Vec<u8> = (0..600_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let releases: Vec<_> = versions
            .iter()
            .map(|v| {
                serde_json::json!({
                    "version": v,
                    "url": format!("sample-{v}.tar.gz"),
                    "sha256": fsutil::sha256_bytes(&data),
                    "size": data.len(),
                    "signature": signer.sign(&data, &format!("timestamp:1\tversion:{v}")),
                    "published": "2026-01-15",
                })
            })
            .collect();
        let index = serde_json::json!({ "releases": releases });
        Published {
            signer,
            data,
            index,
        }
    }

    fn config(source: &str, key: &str) -> ReleaseConfig {
        ReleaseConfig {
            source: source.into(),
            format: ReleaseFormat::Upshift,
            artifact_url: None,
            verify: crate::config::Verify::Minisign,
            public_key: Some(key.into()),
            sha256: Default::default(),
            cache_dir: None,
            allow_insecure_source: false,
            timeout: Duration::from_secs(10),
        }
    }

    fn serve(p: &Published, v: &str) -> Server {
        let files = HashMap::from([
            (
                "/r/index.json".to_string(),
                p.index.to_string().into_bytes(),
            ),
            (format!("/r/sample-{v}.tar.gz"), p.data.clone()),
        ]);
        Server::start(files)
    }

    fn source(url: &str, p: &Published, cache: &Path) -> Source {
        Source::new(&config(url, &p.signer.public_key()), cache.to_path_buf()).unwrap()
    }

    fn no_progress(_: u64, _: Option<u64>) {}

    #[test]
    fn lists_a_local_folder_sorted() {
        let p = publish(&["2026.2.0", "2026.1.0"]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.json"), p.index.to_string()).unwrap();
        for src in [dir.path().to_path_buf(), dir.path().join("index.json")] {
            let list = source(src.to_str().unwrap(), &p, dir.path())
                .list()
                .unwrap();
            let versions: Vec<String> = list.iter().map(|r| r.version.to_string()).collect();
            assert_eq!(versions, ["2026.1.0", "2026.2.0"]);
            let expected = dir.path().join("sample-2026.1.0.tar.gz");
            assert_eq!(list[0].url, expected.to_str().unwrap());
        }
    }

    #[test]
    fn fetches_from_a_local_folder_and_reuses_the_cache() {
        let p = publish(&["2026.1.0"]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.json"), p.index.to_string()).unwrap();
        let artifact = dir.path().join("sample-2026.1.0.tar.gz");
        std::fs::write(&artifact, &p.data).unwrap();
        let cache = dir.path().join("cache");
        let src = source(dir.path().to_str().unwrap(), &p, &cache);
        let release = &src.list().unwrap()[0];
        let got = src.fetch(release, &no_progress).unwrap();
        let cached = cache.join("sample-2026.1.0.tar.gz");
        assert_eq!(std::fs::read(&cached).unwrap(), p.data);
        // What is handed on is a private copy: the cached file changing
        // after verification does not change it.
        assert_ne!(got.path(), cached);
        std::fs::write(&cached, b"swapped").unwrap();
        assert_eq!(std::fs::read(got.path()).unwrap(), p.data);
        let private = got.path().parent().unwrap().to_path_buf();
        drop(got);
        assert!(!private.exists(), "the private copy is removed");
        std::fs::write(&cached, &p.data).unwrap();
        std::fs::remove_file(&artifact).unwrap();
        let again = src.fetch(release, &no_progress).unwrap();
        assert_eq!(std::fs::read(again.path()).unwrap(), p.data);
    }

    #[test]
    fn list_errors_are_input_errors_naming_the_source() {
        let p = publish(&["2026.1.0"]);
        let dir = tempfile::tempdir().unwrap();
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/index.json", l.local_addr().unwrap())
        };
        let server = Server::start(HashMap::from([("/bad.json".into(), b"{nope".to_vec())]));
        let cases = [
            (closed.clone(), "connection"),
            (format!("{}/missing.json", server.base), "answered 404"),
            (format!("{}/bad.json", server.base), "not valid JSON"),
            (
                dir.path().join("none.json").to_string_lossy().into_owned(),
                "cannot read",
            ),
        ];
        for (url, expected) in cases {
            let err = source(&url, &p, dir.path()).list().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Input, "{err}");
            assert!(
                err.to_string()
                    .starts_with(&format!("release source {url}: ")),
                "{err}"
            );
            assert!(err.to_string().contains(expected), "{err}");
            assert!(err.hint_text().unwrap().contains("nothing was changed"));
        }
    }

    #[test]
    fn rejects_a_bad_public_key() {
        let err = Source::new(&config("/x", "RWbogus"), PathBuf::from("/tmp")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("release.public_key"), "{err}");
    }

    #[test]
    fn fetches_over_http_with_progress_then_from_cache() {
        let p = publish(&["2026.1.0", "2026.2.0"]);
        let server = serve(&p, "2026.2.0");
        let cache = tempfile::tempdir().unwrap();
        let src = source(&format!("{}/r/index.json", server.base), &p, cache.path());
        let release = src.list().unwrap().pop().unwrap();
        assert_eq!(
            release.url,
            format!("{}/r/sample-2026.2.0.tar.gz", server.base)
        );
        let seen = Mutex::new(Vec::new());
        let path = src
            .fetch(&release, &|done, total| {
                seen.lock().unwrap().push((done, total))
            })
            .unwrap();
        assert_eq!(std::fs::read(path.path()).unwrap(), p.data);
        assert!(!cache.path().join("sample-2026.2.0.tar.gz.part").exists());
        let seen = seen.into_inner().unwrap();
        let size = Some(p.data.len() as u64);
        assert_eq!(seen.first(), Some(&(0, size)));
        assert_eq!(seen.last(), Some(&(p.data.len() as u64, size)));
        let requests = server.with(|s| s.requests.len());
        src.fetch(&release, &no_progress).unwrap();
        assert_eq!(
            server.with(|s| s.requests.len()),
            requests,
            "the cache was not used"
        );
    }

    #[test]
    fn resumes_an_interrupted_download() {
        let p = publish(&["2026.2.0"]);
        let server = serve(&p, "2026.2.0");
        let cache = tempfile::tempdir().unwrap();
        let src = source(&format!("{}/r/index.json", server.base), &p, cache.path());
        let release = src.list().unwrap().pop().unwrap();
        server.with(|s| s.cut_after = Some(250_000));
        let err = src.fetch(&release, &no_progress).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.hint_text().unwrap().contains("resume"), "{err}");
        let part = cache.path().join("sample-2026.2.0.tar.gz.part");
        let kept = std::fs::metadata(&part).unwrap().len() as usize;
        assert!(kept > 0 && kept <= 250_000, "kept {kept}");

        server.with(|s| {
            s.cut_after = None;
            s.body_bytes = 0;
        });
        let path = src.fetch(&release, &no_progress).unwrap();
        assert_eq!(std::fs::read(path.path()).unwrap(), p.data);
        let (range, sent) = server.with(|s| (s.requests.last().unwrap().1.clone(), s.body_bytes));
        assert_eq!(range, Some(format!("bytes={kept}-")));
        assert_eq!(sent, p.data.len() - kept, "resent bytes it already had");
    }

    #[test]
    fn restarts_when_the_server_ignores_ranges() {
        let p = publish(&["2026.2.0"]);
        let server = serve(&p, "2026.2.0");
        server.with(|s| s.ignore_ranges = true);
        let cache = tempfile::tempdir().unwrap();
        std::fs::write(
            cache.path().join("sample-2026.2.0.tar.gz.part"),
            &p.data[..1000],
        )
        .unwrap();
        let src = source(&format!("{}/r/index.json", server.base), &p, cache.path());
        let release = src.list().unwrap().pop().unwrap();
        let path = src.fetch(&release, &no_progress).unwrap();
        assert_eq!(std::fs::read(path.path()).unwrap(), p.data);
    }

    #[test]
    fn deletes_what_fails_verification() {
        let p = publish(&["2026.2.0"]);
        let server = serve(&p, "2026.2.0");
        let cache = tempfile::tempdir().unwrap();
        let src = source(&format!("{}/r/index.json", server.base), &p, cache.path());
        let good = src.list().unwrap().pop().unwrap();
        let final_path = cache.path().join("sample-2026.2.0.tar.gz");
        let part = cache.path().join("sample-2026.2.0.tar.gz.part");

        let wrong_hash = Release {
            sha256: Some("0".repeat(64)),
            ..good.clone()
        };
        let err = src.fetch(&wrong_hash, &no_progress).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(
            err.to_string()
                .starts_with("release 2026.2.0: SHA-256 of sample-2026.2.0.tar.gz is "),
            "{err}"
        );
        assert!(!part.exists() && !final_path.exists());

        let forged = Release {
            signature: Some(Signer::new().sign(&p.data, "version:2026.2.0")),
            ..good.clone()
        };
        let err = src.fetch(&forged, &no_progress).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not verify with release.public_key"),
            "{err}"
        );
        assert!(!part.exists() && !final_path.exists());

        let relabelled = Release {
            signature: Some(p.signer.sign(&p.data, "version:2026.1.0")),
            ..good.clone()
        };
        let err = src.fetch(&relabelled, &no_progress).unwrap_err();
        assert!(err.to_string().contains("different version"), "{err}");
        assert!(!part.exists() && !final_path.exists());

        // A tampered cached file is not trusted: it is fetched again.
        src.fetch(&good, &no_progress).unwrap();
        std::fs::write(&final_path, b"tampered").unwrap();
        assert_eq!(
            std::fs::read(src.fetch(&good, &no_progress).unwrap().path()).unwrap(),
            p.data
        );
    }

    /// An Octopus-format source over HTTP, trusting pinned SHA-256 values.
    fn octopus_source(base: &str, pins: &[(&str, String)], cache: &Path) -> Source {
        let cfg = ReleaseConfig {
            format: ReleaseFormat::Octopus,
            artifact_url: Some(format!("{base}/octopus/Octopus.{{version}}-x64.msi")),
            verify: crate::config::Verify::Sha256,
            public_key: None,
            sha256: pins
                .iter()
                .map(|(v, s)| (v.to_string(), s.clone()))
                .collect(),
            ..config(&format!("{base}/download/upgrade/v3"), "")
        };
        Source::new(&cfg, cache.to_path_buf()).unwrap()
    }

    #[test]
    fn an_octopus_feed_is_trusted_through_pins_only() {
        let msi = b"an Octopus installer".to_vec();
        let feed = r#"[{"Version":"2025.4.3"},{"Version":"2026.1.2"},{"Version":"2026.2.0"}]"#;
        let server = Server::start(HashMap::from([
            ("/download/upgrade/v3".to_string(), feed.as_bytes().to_vec()),
            ("/octopus/Octopus.2026.2.0-x64.msi".to_string(), msi.clone()),
        ]));
        let cache = tempfile::tempdir().unwrap();
        let sha = fsutil::sha256_bytes(&msi);
        let src = octopus_source(
            &server.base,
            &[("2026.2", sha.to_uppercase())],
            cache.path(),
        );
        let list = src.list().unwrap();
        let pinned = list.last().unwrap();
        assert_eq!(pinned.version.to_string(), "2026.2.0");
        assert_eq!(pinned.sha256.as_deref(), Some(sha.as_str()));
        assert!(list[..2].iter().all(|r| r.sha256.is_none()));

        let path = src.fetch(pinned, &no_progress).unwrap();
        assert_eq!(std::fs::read(path.path()).unwrap(), msi);

        let err = src.fetch(&list[1], &no_progress).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("no SHA-256 to check"), "{err}");
        assert!(src.check_verifiable(&list[1]).is_err());
        let requests = server.with(|s| s.requests.len());

        let wrong = octopus_source(&server.base, &[("2026.2.0", "0".repeat(64))], cache.path());
        let err = wrong
            .fetch(&wrong.list().unwrap()[2], &no_progress)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("SHA-256 of Octopus.2026.2.0-x64.msi is"),
            "{err}"
        );
        assert!(
            server.with(|s| s.requests.len()) > requests + 1,
            "the cached installer was trusted without a matching pin"
        );
    }

    #[test]
    fn a_pin_that_contradicts_the_index_is_refused() {
        let p = publish(&["2026.1.0"]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.json"), p.index.to_string()).unwrap();
        let mut cfg = config(dir.path().to_str().unwrap(), &p.signer.public_key());
        cfg.sha256.insert("2026.1.0".into(), "0".repeat(64));
        let err = Source::new(&cfg, dir.path().join("cache"))
            .unwrap()
            .list()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("but release.sha256 pins"), "{err}");
    }
}
