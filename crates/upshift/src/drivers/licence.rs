//! The licence preflight: refuse a release the licence does not cover.
//!
//! Some licences cover releases only up to a limit; an upgrade past it
//! fails only once the new version starts, inside the window. upshift reads
//! the limit before planning and refuses such a release up front. The limit
//! is a date (`covers = "date"`, compared with the release's `published`
//! date) or a version (`covers = "version"`, compared with the release's
//! version). Octopus Deploy reports
//! `MaximumAvailableVersionCoveredByLicense` at `GET /api/serverstatus`;
//! its API reference types it only as a string, and its name says version,
//! so the Octopus preset uses `covers = "version"`: a value that does not
//! read as a version is refused, never taken as "covered".

use crate::config::{LicenceConfig, LicenceCovers};
use crate::drivers::http::Client;
use crate::drivers::keys::source;
use crate::drivers::release::Release;
use crate::support::error::{Error, Result};
use crate::support::events::Reporter;
use crate::support::template::Vars;
use crate::Version;
use std::path::Path;

/// How far the licence covers releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    /// Releases published until this `YYYY-MM-DD` date.
    Until(String),
    /// Releases up to this version.
    UpTo(Version),
}

/// Where the licence is read from: the instance's HTTP client, its folder
/// and the placeholders of the running version.
#[derive(Debug)]
pub struct Reading<'a> {
    pub client: &'a Client,
    pub instance_dir: &'a Path,
    pub vars: &'a Vars,
}

/// Checks that the licence `cfg` covers `release`.
pub fn check(
    cfg: &LicenceConfig,
    from: &Reading,
    release: &Release,
    reporter: &dyn Reporter,
) -> Result<()> {
    compare(&covered(from, cfg)?, release, reporter)
}

/// Whether `covered` covers `release`: an input error if not.
fn compare(covered: &Covered, release: &Release, reporter: &dyn Reporter) -> Result<()> {
    let renew = "renew the licence first, or choose an older release with --to";
    match (covered, &release.published) {
        (Covered::UpTo(max), _) if &release.version > max => Err(Error::input(format!(
            "the licence covers releases up to version {max}; {} is newer",
            release.version
        ))
        .hint(renew)),
        (Covered::UpTo(_), _) => Ok(()),
        (Covered::Until(until), Some(published)) if published > until => {
            Err(Error::input(format!(
                "the licence covers releases published until {until}; {} was published {published}",
                release.version
            ))
            .hint(renew))
        }
        (Covered::Until(_), Some(_)) => Ok(()),
        (Covered::Until(until), None) => {
            reporter.note(format!(
                    "licence covers releases until {until}, but the source gives no publish date for {}: not checked",
                    release.version
                ),
            );
            Ok(())
        }
    }
}

/// Reads how far the licence covers releases.
pub fn covered(from: &Reading, cfg: &LicenceConfig) -> Result<Covered> {
    let raw = source::read(
        &cfg.from,
        from.client,
        from.instance_dir,
        from.vars,
        "licence",
    )?;
    parse(&raw, cfg)
}

fn parse(raw: &[u8], cfg: &LicenceConfig) -> Result<Covered> {
    let text = match &cfg.pointer {
        Some(pointer) => source::string_at(raw, pointer, "licence")?,
        None => String::from_utf8_lossy(raw).trim().to_string(),
    };
    let unread = |what: &str| {
        Error::input(format!("licence: the value read is not {what}")).hint(
            "point licence.pointer at the right field, or set licence.covers (the value itself is not shown: it may be secret)",
        )
    };
    match cfg.covers {
        LicenceCovers::Version => text
            .parse()
            .map(Covered::UpTo)
            .map_err(|_| unread("a version (licence.covers = \"version\")")),
        LicenceCovers::Date => {
            let date = text.get(..10).unwrap_or("");
            let valid = date.len() == 10
                && date.char_indices().all(|(i, c)| {
                    if i == 4 || i == 7 {
                        c == '-'
                    } else {
                        c.is_ascii_digit()
                    }
                });
            if !valid {
                return Err(unread("a YYYY-MM-DD date (licence.covers = \"date\")"));
            }
            Ok(Covered::Until(date.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ValueSource;
    use crate::support::events::Event;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Notes(Mutex<Vec<String>>);

    impl Reporter for Notes {
        fn report(&self, event: &Event) {
            self.0.lock().unwrap().push(format!("{event:?}"));
        }
    }

    fn cfg(pointer: Option<&str>, covers: LicenceCovers) -> LicenceConfig {
        LicenceConfig {
            from: ValueSource::Command(Vec::new()),
            pointer: pointer.map(Into::into),
            covers,
        }
    }

    fn release(version: &str, published: Option<&str>) -> Release {
        Release {
            version: version.parse().unwrap(),
            url: String::new(),
            file_name: String::new(),
            sha256: None,
            size: None,
            signature: None,
            published: published.map(Into::into),
        }
    }

    #[test]
    fn reads_dates_and_versions() {
        let octopus = br#"{"MaximumAvailableVersionCoveredByLicense":"2026.2.1","IsInMaintenanceMode":false}"#;
        let by_version = cfg(
            Some("/MaximumAvailableVersionCoveredByLicense"),
            LicenceCovers::Version,
        );
        assert_eq!(
            parse(octopus, &by_version).unwrap(),
            Covered::UpTo("2026.2.1".parse().unwrap())
        );
        let by_date = cfg(None, LicenceCovers::Date);
        assert_eq!(
            parse(b"2026-06-30T00:00:00Z\n", &by_date).unwrap(),
            Covered::Until("2026-06-30".into())
        );
        for (raw, cfg, expected) in [
            (&b"2026.2.1"[..], &by_date, "not a YYYY-MM-DD date"),
            (
                &b"2026-06-30"[..],
                &cfg(None, LicenceCovers::Version),
                "not a version",
            ),
            (
                &octopus[..],
                &cfg(Some("/Missing"), LicenceCovers::Version),
                "`/Missing`",
            ),
        ] {
            let err = parse(raw, cfg).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn refuses_what_the_licence_does_not_cover() {
        let notes = Notes::default();
        let max = Covered::UpTo("2026.2.1".parse().unwrap());
        compare(&max, &release("2026.2.1", None), &notes).unwrap();
        compare(&max, &release("2026.1.9", None), &notes).unwrap();
        let err = compare(&max, &release("2026.2.2", None), &notes).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            "the licence covers releases up to version 2026.2.1; 2026.2.2 is newer"
        );

        let until = Covered::Until("2026-06-30".into());
        compare(&until, &release("2026.3.0", Some("2026-06-30")), &notes).unwrap();
        let err = compare(&until, &release("2026.3.0", Some("2026-07-01")), &notes).unwrap_err();
        assert!(
            err.to_string().contains("published until 2026-06-30"),
            "{err}"
        );
        assert!(notes.0.lock().unwrap().is_empty());
        compare(&until, &release("2026.3.0", None), &notes).unwrap();
        assert_eq!(
            notes.0.lock().unwrap().len(),
            1,
            "no note for an undated release"
        );
    }
}
