//! Downloading a release artifact into a `.part` file, resumably.
//!
//! Releases can be large and links flaky, so an interrupted download keeps
//! what arrived: the next attempt asks for the rest with `Range:
//! bytes=<len>-` and appends only when the server answers `206` for exactly
//! that offset; a `200` (the server ignores ranges) or anything odd starts
//! again from zero. Whether the bytes are right is decided afterwards, by the
//! hash and the signature, not here.
//!
//! The `.part` file is never written through a symlink: anything but a
//! regular file at its name is removed first, and it is opened with
//! `O_NOFOLLOW`, so a link planted there cannot redirect the download.
//!
//! The request timeout of `release.timeout` applies to connecting and to
//! each read, not to the whole transfer: a slow but moving download of a big
//! release must not be cut off, a stalled one must.

use super::index::is_http;
use super::Release;
use crate::support::error::{Context, Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

const RETRY: &str = "run the command again to resume the download; nothing was changed";

/// Fills `part` with the release's bytes, resuming what is already there.
pub(super) fn download(
    agent: &ureq::Agent,
    timeout: Duration,
    release: &Release,
    part: &Path,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<()> {
    let have = match std::fs::symlink_metadata(part) {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => {
            std::fs::remove_file(part)
                .context(|| format!("cannot remove {}, which is not a file", part.display()))?;
            0
        }
        Err(_) => 0,
    };
    if have > 0 && release.size == Some(have) {
        return Ok(());
    }
    let (body, start, length): (Box<dyn Read>, u64, Option<u64>) = if is_http(&release.url) {
        let offset = if release.size.is_some_and(|s| have > s) {
            0
        } else {
            have
        };
        let (response, start) = open(agent, timeout, release, offset)?;
        let length = response.body().content_length();
        (Box::new(response.into_body().into_reader()), start, length)
    } else {
        let file = File::open(&release.url).input_context(|| {
            format!("release {}: cannot open {}", release.version, release.url)
        })?;
        let length = file.metadata().ok().map(|m| m.len());
        (Box::new(file), 0, length)
    };
    let total = release.size.or(length.map(|l| l + start));
    copy(body, start, total, release, part, progress)
}

/// Asks for the bytes from `offset`; returns the response and where it starts.
fn open(
    agent: &ureq::Agent,
    timeout: Duration,
    release: &Release,
    offset: u64,
) -> Result<(ureq::http::Response<ureq::Body>, u64)> {
    let url = &release.url;
    let get = |range: Option<u64>| {
        let mut request = agent
            .get(url)
            .config()
            .timeout_global(None)
            .timeout_connect(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_per_read(Some(timeout))
            .build();
        if let Some(from) = range {
            request = request.header("Range", format!("bytes={from}-"));
        }
        request.call().map_err(|e| {
            Error::input(format!(
                "release {}: GET {url}: {}",
                release.version,
                crate::drivers::http::describe(&e)
            ))
            .hint(RETRY)
        })
    };
    if offset > 0 {
        let response = get(Some(offset))?;
        match response.status().as_u16() {
            206 if range_start(&response) == Some(offset) => return Ok((response, offset)),
            200 => return Ok((response, 0)),
            _ => {}
        }
    }
    let response = get(None)?;
    match response.status().as_u16() {
        200 => Ok((response, 0)),
        status => Err(Error::input(format!(
            "release {}: GET {url} answered {status}",
            release.version
        ))
        .hint("check that the release server still publishes this file; nothing was changed")),
    }
}

/// The first byte of a `Content-Range: bytes <first>-<last>/<size>`.
fn range_start(response: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    let value = response.headers().get("content-range")?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// Writes `body` into `part` at `start` (truncating when 0), then fsyncs it.
fn copy(
    mut body: Box<dyn Read>,
    start: u64,
    total: Option<u64>,
    release: &Release,
    part: &Path,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<()> {
    let mut out = OpenOptions::new()
        .create(true)
        .append(start > 0)
        .write(true)
        .truncate(start == 0)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(part)
        .context(|| format!("cannot write {}", part.display()))?;
    let mut done = start;
    progress(done, total);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::input(format!(
                    "release {}: the download of {} stopped after {done} bytes",
                    release.version, release.url
                ))
                .caused_by(e)
                .hint(RETRY));
            }
        };
        out.write_all(&buf[..n])
            .context(|| format!("cannot write {}", part.display()))?;
        done += n as u64;
        if let Some(size) = release.size.filter(|&s| done > s) {
            return Err(Error::input(format!(
                "release {}: {} is larger than the {size} bytes the index says",
                release.version, release.url
            ))
            .hint("the release server or the index is wrong; nothing was changed"));
        }
        progress(done, total);
    }
    out.sync_all()
        .context(|| format!("cannot write {}", part.display()))?;
    match release.size {
        Some(size) if done < size => Err(Error::input(format!(
            "release {}: the download of {} ended after {done} of {size} bytes",
            release.version, release.url
        ))
        .hint(RETRY)),
        _ => Ok(()),
    }
}
