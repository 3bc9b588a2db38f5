//! Proving a downloaded release is the one the publisher signed.
//!
//! Two independent checks in one streaming pass over the file (releases can
//! be large, so it is never read into memory): the SHA-256 the index names
//! (or the operator pinned), and the publisher's minisign signature against
//! `release.public_key`. The signature protects against a tampered index;
//! the hash gives a precise message for a corrupted download. With
//! `verify = "sha256"` (a publisher that signs nothing) there is no key and
//! the SHA-256 alone decides; a release without one is refused, never
//! passed unchecked. A signature's trusted comment is signed
//! too, so when it names `version:<v>` that version must be the release's:
//! otherwise an old, genuinely signed release could be re-labelled as a new
//! one in a tampered index.

use super::Release;
use crate::support::error::{Context, Error, Result};
use crate::Version;
use minisign_verify::{PublicKey, Signature};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

const TAMPERED: &str =
    "the download or the index was tampered with or corrupted; nothing was changed";

/// Reads `release.public_key`: the base64 `RW...` line, or a whole `.pub` file.
pub(super) fn public_key(text: &str) -> Result<PublicKey> {
    let text = text.trim();
    let key = if text.contains('\n') {
        PublicKey::decode(text)
    } else {
        PublicKey::from_base64(text)
    };
    key.map_err(|e| {
        Error::input(format!(
            "release.public_key is not a minisign public key ({e})"
        ))
        .hint("copy the `RW...` line of the publisher's minisign .pub file")
    })
}

/// Refuses a release that cannot be verified: without a SHA-256, or without
/// a signature when `signed` (a public key is configured).
pub(super) fn verifiable(release: &Release, signed: bool) -> Result<()> {
    let fail = |what: String| Error::input(format!("release {}: {what}", release.version));
    if release.sha256.is_none() {
        return Err(fail(format!(
            "no SHA-256 to check {} against: the index gives none and release.sha256 pins none",
            release.file_name
        ))
        .hint(format!(
            "pin it in the instance file, `[release.sha256]` \"{}\" = \"<64 hex digits>\", from a source you trust (the publisher's download page, or a copy you verified); nothing was changed",
            release.version
        )));
    }
    if signed && release.signature.is_none() {
        return Err(fail(format!(
            "the index has no signature for {}, and release.public_key asks for one",
            release.file_name
        ))
        .hint(TAMPERED));
    }
    Ok(())
}

/// Checks `path` against the release's SHA-256 and, with `key`, its signature.
pub(super) fn check(path: &Path, release: &Release, key: Option<&PublicKey>) -> Result<()> {
    verifiable(release, key.is_some())?;
    let fail = |what: String| Error::input(format!("release {}: {what}", release.version));
    let file = &release.file_name;
    let signature = match (key, &release.signature) {
        (Some(key), Some(text)) => {
            let signature = Signature::decode(text)
                .map_err(|e| {
                    fail(format!(
                        "the index's signature for {file} is not a minisign signature ({e})"
                    ))
                })
                .map_err(|e| e.hint(TAMPERED))?;
            Some((key, signature))
        }
        _ => None,
    };
    let bad_signature = || {
        fail(format!(
            "the signature of {file} does not verify with release.public_key"
        ))
        .hint(TAMPERED)
    };
    let mut verifier = match &signature {
        None => None,
        Some((key, signature)) => match key.verify_stream(signature) {
            Ok(v) => Some(v),
            Err(minisign_verify::Error::UnsupportedLegacyMode) => {
                return Err(fail(format!(
                    "the signature of {file} uses minisign's legacy mode, which cannot be checked in a stream"
                ))
                .hint("ask the publisher to sign with a current minisign (prehashed signatures)"))
            }
            Err(_) => None,
        },
    };
    let mut reader =
        std::fs::File::open(path).context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader
            .read(&mut buf)
            .context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(v) = verifier.as_mut() {
            v.update(&buf[..n]);
        }
    }
    let actual = hex::encode(hasher.finalize());
    let expected = release.sha256.as_deref().unwrap_or_default();
    if actual != expected {
        let said_by = match key {
            Some(_) => "the index",
            None => "the index or release.sha256",
        };
        return Err(fail(format!(
            "SHA-256 of {file} is {actual}, {said_by} says {expected}"
        ))
        .hint(TAMPERED));
    }
    let Some((_, signature)) = &signature else {
        return Ok(());
    };
    match verifier.map(|mut v| v.finalize()) {
        Some(Ok(())) => {}
        _ => return Err(bad_signature()),
    }
    match signed_version(signature.trusted_comment()) {
        Some(Ok(signed)) if signed == release.version => Ok(()),
        None => Ok(()),
        Some(_) => Err(fail(format!(
            "{file} is signed as a different version (trusted comment: `{}`)",
            signature.trusted_comment()
        ))
        .hint("the index labels another signed release as this version; it was tampered with. Nothing was changed")),
    }
}

/// The `version:<v>` a trusted comment names, if any.
fn signed_version(comment: &str) -> Option<Result<Version>> {
    comment
        .split_whitespace()
        .find_map(|token| token.strip_prefix("version:"))
        .map(str::parse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::release::tests::Signer;
    use crate::ErrorKind;

    fn release(version: &str, data: &[u8], signature: String) -> Release {
        Release {
            version: version.parse().unwrap(),
            url: "/x/app.tar.gz".into(),
            file_name: "app.tar.gz".into(),
            sha256: Some(crate::support::fsutil::sha256_bytes(data)),
            size: Some(data.len() as u64),
            signature: Some(signature),
            published: None,
        }
    }

    /// Checks `data` as the downloaded file of `release`, with `key` or none.
    fn verify_with(key: Option<&PublicKey>, release: &Release, data: &[u8]) -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.tar.gz");
        std::fs::write(&path, data).unwrap();
        check(&path, release, key)
    }

    fn verify(signer: &Signer, release: &Release, data: &[u8]) -> Result<()> {
        let key = public_key(&signer.public_key()).unwrap();
        verify_with(Some(&key), release, data)
    }

    fn verify_unsigned(release: &Release, data: &[u8]) -> Result<()> {
        verify_with(None, release, data)
    }

    #[test]
    fn accepts_a_signed_release_and_its_version_comment() {
        let signer = Signer::new();
        let data = b"release bytes";
        for comment in [
            "timestamp:1\tfile:app.tar.gz",
            "timestamp:1\tversion:2026.2",
        ] {
            let r = release("2026.2.0", data, signer.sign(data, comment));
            verify(&signer, &r, data).unwrap();
        }
    }

    #[test]
    fn rejects_wrong_hash_wrong_key_and_relabelled_versions() {
        let signer = Signer::new();
        let data = b"release bytes";
        let good = release("2026.2.0", data, signer.sign(data, "version:2026.2.0"));

        let err = verify(&signer, &good, b"other bytes").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        let expected = format!(
            "release 2026.2.0: SHA-256 of app.tar.gz is {}, the index says {}",
            crate::support::fsutil::sha256_bytes(b"other bytes"),
            good.sha256.as_deref().unwrap()
        );
        assert_eq!(err.to_string(), expected);
        assert_eq!(err.hint_text(), Some(TAMPERED));

        let other = Signer::new();
        let forged = release("2026.2.0", data, other.sign(data, "version:2026.2.0"));
        let err = verify(&signer, &forged, data).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not verify with release.public_key"),
            "{err}"
        );

        let old = release(
            "2026.2.0",
            data,
            signer.sign(data, "timestamp:1\tversion:2026.1.0"),
        );
        let err = verify(&signer, &old, data).unwrap_err();
        assert!(
            err.to_string().contains("signed as a different version"),
            "{err}"
        );

        let unsigned = Release {
            signature: None,
            ..good.clone()
        };
        let err = verify(&signer, &unsigned, data).unwrap_err();
        assert!(err.to_string().contains("has no signature"), "{err}");

        let garbage = release("2026.2.0", data, "not a signature".into());
        let err = verify(&signer, &garbage, data).unwrap_err();
        assert!(
            err.to_string().contains("not a minisign signature"),
            "{err}"
        );
    }

    #[test]
    fn reads_public_keys() {
        let signer = Signer::new();
        assert!(public_key(&format!("  {}\n", signer.public_key())).is_ok());
        let file = format!(
            "untrusted comment: minisign public key\n{}\n",
            signer.public_key()
        );
        assert!(public_key(&file).is_ok());
        let err = public_key("RWnotakey").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("release.public_key"));
    }

    #[test]
    fn sha256_trust_checks_the_hash_and_needs_one() {
        let data = b"an unsigned installer";
        let pinned = Release {
            signature: None,
            ..release("2026.1.5", data, String::new())
        };
        verify_unsigned(&pinned, data).unwrap();
        let err = verify_unsigned(&pinned, b"another installer").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(
            err.to_string().contains("the index or release.sha256 says"),
            "{err}"
        );

        let unpinned = Release {
            sha256: None,
            ..pinned.clone()
        };
        let err = verify_unsigned(&unpinned, data).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("no SHA-256 to check"), "{err}");
        assert!(
            err.hint_text()
                .unwrap()
                .contains("`[release.sha256]` \"2026.1.5\" = "),
            "{:?}",
            err.hint_text()
        );
        assert!(verifiable(&unpinned, false).is_err());
        assert!(verifiable(&pinned, false).is_ok());
        assert!(verifiable(&pinned, true).is_err());
    }
}
