//! The key bundle file: every key, in one age-encrypted file.
//!
//! Format: the JSON object `{"format":"upshift-keys/1","keys":{name: base64}}`
//! encrypted with age, either with a passphrase (scrypt) or to x25519
//! recipients (`age1...`). The plaintext exists only in memory.
//!
//! A bundle is proven before it is reported: the file is read back and
//! compared byte for byte with what was encrypted, and when upshift can
//! decrypt it (a passphrase, or `identity` for recipients) it is decrypted
//! and compared key by key. A bundle that cannot be opened when it is needed
//! is worse than none, because it was trusted.
//!
//! The fingerprint is a salted SHA-256 over names and values: it tells
//! whether the keys changed without letting anyone who reads the catalog
//! test guesses of a weak key against it.

use crate::config::KeysConfig;
use crate::drivers::http;
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use crate::support::template::Vars;
use age::secrecy::SecretString;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

/// The `format` field of every bundle this version writes and reads.
const FORMAT: &str = "upshift-keys/1";

/// Named keys, in memory only. `Debug` shows the names, never a value.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyBundle {
    keys: BTreeMap<String, Vec<u8>>,
}

/// The plaintext inside the encrypted file.
#[derive(Serialize, Deserialize)]
struct Plain {
    format: String,
    keys: BTreeMap<String, String>,
}

impl fmt::Debug for KeyBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyBundle")
            .field("names", &self.names())
            .finish_non_exhaustive()
    }
}

impl KeyBundle {
    /// Reads every key the instance file lists.
    pub fn collect(
        cfg: &KeysConfig,
        client: &http::Client,
        instance_dir: &Path,
        vars: &Vars,
    ) -> Result<Self> {
        let mut keys = BTreeMap::new();
        for source in &cfg.sources {
            let what = format!("keys.sources {}", source.name);
            let mut value = super::source::read(&source.from, client, instance_dir, vars, &what)?;
            if let Some(pointer) = &source.pointer {
                let key = super::source::string_at(&value, pointer, &what)?;
                crate::support::redact::remember(&key);
                value = key.into_bytes();
            }
            if keys.insert(source.name.clone(), value).is_some() {
                return Err(Error::input(format!("{what}: the key is listed twice")));
            }
        }
        Ok(KeyBundle { keys })
    }

    /// The key names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }

    /// One key's value.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.keys.get(name).map(Vec::as_slice)
    }

    /// Hex SHA-256 over `salt` and every (name, length, value) in name order.
    pub fn fingerprint(&self, salt: &[u8]) -> String {
        let mut hasher = Sha256::new();
        for part in std::iter::once(salt).chain(
            self.keys
                .iter()
                .flat_map(|(name, value)| [name.as_bytes(), value.as_slice()]),
        ) {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        hex::encode(hasher.finalize())
    }

    /// Encrypts the bundle into `path` (mode 0600) and proves the file;
    /// returns its size and SHA-256.
    pub fn write(&self, cfg: &KeysConfig, path: &Path) -> Result<(u64, String)> {
        let encrypted = encrypt(cfg, &self.to_plaintext()?)?;
        fsutil::atomic_write(path, &encrypted, 0o600)?;
        let back =
            std::fs::read(path).context(|| format!("cannot read back {}", path.display()))?;
        if back != encrypted {
            return Err(Error::failed(format!(
                "key bundle {}: the file read back differs from what was written",
                path.display()
            ))
            .hint("the disk or file system is not reliable; write the bundle elsewhere"));
        }
        if let Some(identity) = identity(cfg)? {
            if Self::decrypt(identity.as_ref(), &back, path)? != *self {
                return Err(Error::failed(format!(
                    "key bundle {}: it decrypts to other keys than were written",
                    path.display()
                )));
            }
        }
        Ok((back.len() as u64, fsutil::sha256_bytes(&back)))
    }

    /// Decrypts a bundle with the passphrase or the identity of `cfg`.
    pub fn open(cfg: &KeysConfig, path: &Path) -> Result<Self> {
        let identity = identity(cfg)?.ok_or_else(|| {
            Error::input(format!(
                "cannot open key bundle {}: no passphrase or identity is configured",
                path.display()
            ))
            .hint("set keys.identity to the age identity of one of keys.recipients")
        })?;
        let bytes = std::fs::read(path).context(|| format!("cannot read {}", path.display()))?;
        Self::decrypt(identity.as_ref(), &bytes, path)
    }

    fn to_plaintext(&self) -> Result<Vec<u8>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let plain = Plain {
            format: FORMAT.into(),
            keys: self
                .keys
                .iter()
                .map(|(name, value)| (name.clone(), b64.encode(value)))
                .collect(),
        };
        serde_json::to_vec(&plain).context(|| "cannot encode the key bundle".into())
    }

    fn decrypt(identity: &dyn age::Identity, bytes: &[u8], path: &Path) -> Result<Self> {
        let unreadable = || format!("cannot decrypt key bundle {}", path.display());
        let mut plaintext = Vec::new();
        age::Decryptor::new_buffered(bytes)
            .and_then(|d| d.decrypt(std::iter::once(identity)))
            .context(unreadable)
            .map_err(|e| e.hint("check keys.passphrase or keys.identity: they must be the ones the bundle was written with"))?
            .read_to_end(&mut plaintext)
            .context(unreadable)?;
        let broken = || {
            Error::failed(format!(
                "key bundle {} is not an upshift key bundle",
                path.display()
            ))
        };
        let plain: Plain = serde_json::from_slice(&plaintext).map_err(|_| broken())?;
        if plain.format != FORMAT {
            return Err(broken().hint(format!(
                "its format is `{}`; this upshift reads `{FORMAT}`",
                plain.format
            )));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let keys = plain
            .keys
            .into_iter()
            .map(|(name, value)| b64.decode(value).map(|v| (name, v)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| broken())?;
        Ok(KeyBundle { keys })
    }
}

/// Encrypts with the passphrase, or to the recipients.
fn encrypt(cfg: &KeysConfig, plaintext: &[u8]) -> Result<Vec<u8>> {
    let encryptor = match &cfg.passphrase {
        Some(secret) => age::Encryptor::with_user_passphrase(passphrase(secret)?),
        None => {
            let recipients = recipients(cfg)?;
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .input_context(|| "keys.recipients: cannot encrypt to these recipients".into())?
        }
    };
    let mut out = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut out)
        .context(|| "cannot encrypt the key bundle".into())?;
    writer
        .write_all(plaintext)
        .and_then(|_| writer.finish())
        .context(|| "cannot encrypt the key bundle".into())?;
    Ok(out)
}

fn passphrase(secret: &crate::support::secret::SecretRef) -> Result<SecretString> {
    Ok(SecretString::from(
        secret.resolve("keys.passphrase")?.expose().to_owned(),
    ))
}

/// The `age1...` recipients; a bad one is named (recipients are public).
fn recipients(cfg: &KeysConfig) -> Result<Vec<age::x25519::Recipient>> {
    if cfg.recipients.is_empty() {
        return Err(Error::input(
            "keys: give either `passphrase` or `recipients` for the key bundle",
        ));
    }
    cfg.recipients
        .iter()
        .map(|text| {
            text.parse().map_err(|why| {
                Error::input(format!(
                    "keys.recipients: `{text}` is not an age x25519 recipient ({why})"
                ))
                .hint("recipients look like age1..., as printed by `age-keygen -y`")
            })
        })
        .collect()
}

/// What can decrypt a bundle here: the passphrase, or the identity; `None`
/// for recipients without an identity.
fn identity(cfg: &KeysConfig) -> Result<Option<Box<dyn age::Identity>>> {
    if let Some(secret) = &cfg.passphrase {
        return Ok(Some(Box::new(age::scrypt::Identity::new(passphrase(
            secret,
        )?))));
    }
    let Some(secret) = &cfg.identity else {
        return Ok(None);
    };
    let text = secret.resolve("keys.identity")?;
    // An `age-keygen` file: comment lines, then the identity.
    let line = text
        .expose()
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let identity: age::x25519::Identity = line.parse().map_err(|_| {
        Error::input("keys.identity: the secret is not an age x25519 identity")
            .hint("an identity looks like AGE-SECRET-KEY-1..., as printed by `age-keygen`")
    })?;
    Ok(Some(Box::new(identity)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FilePath, KeySource, ValueSource};
    use crate::support::secret::SecretRef;
    use age::secrecy::ExposeSecret;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    const CANARY: &str = "canary-91c2-master-key";

    fn secret_file(dir: &Path, name: &str, value: &str) -> SecretRef {
        let path = dir.join(name);
        std::fs::write(&path, format!("{value}\n")).unwrap();
        SecretRef {
            env: None,
            file: Some(FilePath::from_path(path)),
        }
    }

    fn config(sources: Vec<KeySource>) -> KeysConfig {
        KeysConfig {
            passphrase: None,
            recipients: Vec::new(),
            identity: None,
            sources,
        }
    }

    fn bundle(pairs: &[(&str, &[u8])]) -> KeyBundle {
        KeyBundle {
            keys: pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_vec()))
                .collect(),
        }
    }

    fn sample() -> KeyBundle {
        bundle(&[("master", CANARY.as_bytes()), ("binary", &[0, 1, 255])])
    }

    /// Checks the file: mode 0600, size and hash as reported, no plaintext.
    fn check_file(path: &Path, (size, sha256): (u64, String)) {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), size);
        assert_eq!(fsutil::sha256_file(path).unwrap(), sha256);
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.starts_with(b"age-encryption.org/v1"));
        assert!(!bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()));
    }

    #[test]
    fn passphrase_round_trip_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.age");
        let mut cfg = config(Vec::new());
        cfg.passphrase = Some(secret_file(dir.path(), "pass", "correct horse"));
        let keys = sample();
        check_file(&path, keys.write(&cfg, &path).unwrap());
        assert_eq!(KeyBundle::open(&cfg, &path).unwrap(), keys);

        cfg.passphrase = Some(secret_file(dir.path(), "wrong", "battery staple"));
        let err = KeyBundle::open(&cfg, &path).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Failed);
        assert!(err.chain().contains("keys.age"), "{}", err.chain());
        assert!(!format!("{} {err:?}", err.chain()).contains(CANARY));
    }

    #[test]
    fn recipients_round_trip_with_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.age");
        let id = age::x25519::Identity::generate();
        let mut cfg = config(Vec::new());
        cfg.recipients = vec![id.to_public().to_string()];
        let keygen_file = format!(
            "# created: today\n# public key: {}\n{}",
            id.to_public(),
            id.to_string().expose_secret()
        );
        cfg.identity = Some(secret_file(dir.path(), "id", &keygen_file));
        let keys = sample();
        check_file(&path, keys.write(&cfg, &path).unwrap());
        assert_eq!(KeyBundle::open(&cfg, &path).unwrap(), keys);

        let other = age::x25519::Identity::generate();
        cfg.identity = Some(secret_file(
            dir.path(),
            "other",
            other.to_string().expose_secret(),
        ));
        assert!(KeyBundle::open(&cfg, &path).is_err());

        // Without an identity the bundle is still written (checked byte for
        // byte) but cannot be opened here.
        cfg.identity = None;
        check_file(&path, keys.write(&cfg, &path).unwrap());
        assert_eq!(
            KeyBundle::open(&cfg, &path).unwrap_err().kind(),
            crate::ErrorKind::Input
        );
    }

    #[test]
    fn a_bad_recipient_or_identity_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.age");
        let mut cfg = config(Vec::new());
        cfg.recipients = vec!["age1notarecipient".into()];
        let err = sample().write(&cfg, &path).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert!(err.chain().contains("keys.recipients"), "{}", err.chain());
        assert!(!path.exists());

        cfg.recipients = vec![age::x25519::Identity::generate().to_public().to_string()];
        cfg.identity = Some(secret_file(dir.path(), "id", CANARY));
        let err = sample().write(&cfg, &path).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert!(err.chain().contains("keys.identity"), "{}", err.chain());
        assert!(!format!("{} {err:?}", err.chain()).contains(CANARY));
    }

    #[test]
    fn fingerprint_follows_keys_and_salt() {
        let keys = sample();
        let print = keys.fingerprint(b"salt-1");
        assert_eq!(print.len(), 64);
        assert_eq!(sample().fingerprint(b"salt-1"), print);
        assert_ne!(keys.fingerprint(b"salt-2"), print);
        let changed = bundle(&[
            ("master", b"canary-91c2-master-kez"),
            ("binary", &[0, 1, 255]),
        ]);
        assert_ne!(changed.fingerprint(b"salt-1"), print);
        let renamed = bundle(&[("master2", CANARY.as_bytes()), ("binary", &[0, 1, 255])]);
        assert_ne!(renamed.fingerprint(b"salt-1"), print);
        let moved = bundle(&[
            ("master", b"canary-91c2-master-key\0"),
            ("binary", &[1, 255]),
        ]);
        assert_ne!(moved.fingerprint(b"salt-1"), print);
    }

    #[test]
    fn collect_reads_every_source_and_never_shows_a_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("master.key"), CANARY).unwrap();
        let source = |name: &str, from| KeySource {
            name: name.into(),
            from,
            pointer: None,
        };
        let mut cfg = config(vec![
            source(
                "master",
                ValueSource::File(FilePath::from_path(dir.path().join("master.key"))),
            ),
            source(
                "signing",
                ValueSource::Command(vec!["sh".into(), "-c".into(), "printf secret".into()]),
            ),
        ]);
        let client = http::Client::new(Duration::from_secs(5));
        let keys = KeyBundle::collect(&cfg, &client, dir.path(), &Vars::default()).unwrap();
        assert_eq!(keys.names(), ["master", "signing"]);
        assert_eq!(keys.get("master"), Some(CANARY.as_bytes()));
        assert_eq!(keys.get("signing"), Some(&b"secret"[..]));
        assert_eq!(keys.get("other"), None);
        let debug = format!("{keys:?}");
        assert!(
            debug.contains("master") && !debug.contains(CANARY),
            "{debug}"
        );
        assert!(!debug.contains("secret\""), "{debug}");

        cfg.sources.push(source(
            "broken",
            ValueSource::Command(vec![
                "sh".into(),
                "-c".into(),
                format!("printf {CANARY}; exit 1"),
            ]),
        ));
        let err = KeyBundle::collect(&cfg, &client, dir.path(), &Vars::default()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        let text = format!("{} {err:?}", err.chain());
        assert!(
            text.contains("keys.sources broken") && !text.contains(CANARY),
            "{text}"
        );
    }

    #[test]
    fn a_pointer_takes_the_key_out_of_json_output() {
        let dir = tempfile::tempdir().unwrap();
        let json = format!(r#"{{"MasterKey":"{CANARY}"}}"#);
        let mut cfg = config(vec![KeySource {
            name: "master-key".into(),
            from: ValueSource::Command(vec!["printf".into(), "%s".into(), json]),
            pointer: Some("/MasterKey".into()),
        }]);
        let client = http::Client::new(Duration::from_secs(5));
        let keys = KeyBundle::collect(&cfg, &client, dir.path(), &Vars::default()).unwrap();
        assert_eq!(keys.get("master-key"), Some(CANARY.as_bytes()));

        cfg.sources[0].pointer = Some("/Key".into());
        let err = KeyBundle::collect(&cfg, &client, dir.path(), &Vars::default()).unwrap_err();
        let text = format!("{} {err:?}", err.chain());
        assert!(
            text.contains("keys.sources master-key") && text.contains("`/Key`"),
            "{text}"
        );
        assert!(!text.contains(CANARY), "{text}");
    }
}
