//! The key bundle: the secrets a restored database cannot live without
//! (master keys, signing keys), saved beside the backups.
//!
//! A database backup without the key that decrypts its sensitive columns is
//! useless, so before the first change of a run upshift reads every key the
//! instance file lists ([`source`]: a file, a command's output or an HTTP
//! answer) and writes them into one age-encrypted file ([`KeyBundle`]). The
//! bundle's fingerprint goes into the catalog so a later run can tell whether
//! the keys changed since the last bundle. Key values never reach an error,
//! a log line, an event or the catalog.

mod bundle;
pub mod source;

pub use bundle::KeyBundle;
