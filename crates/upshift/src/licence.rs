//! The licence preflight: refuse a release the licence does not cover.
//!
//! Octopus-style licences cover releases published up to a date
//! (`MaximumAvailableVersionCoveredByLicense`); an upgrade past it fails only
//! once the new version starts, inside the window. upshift reads the date
//! before planning and refuses such a release up front.

use crate::config::LicenceConfig;
use crate::error::{Error, Result};
use crate::events::Reporter;
use crate::instance::Instance;
use crate::keys::source;
use crate::release::Release;

/// Checks that the licence covers `release`; a no-op without `[licence]`.
pub fn check(inst: &Instance, release: &Release, reporter: &dyn Reporter) -> Result<()> {
    let Some(cfg) = &inst.loaded.file.licence else {
        return Ok(());
    };
    let until = covered_until(inst, cfg)?;
    match &release.published {
        Some(published) if published.as_str() > until.as_str() => Err(Error::input(format!(
            "the licence covers releases published until {until}; {} was published {published}",
            release.version
        ))
        .hint("renew the licence first, or choose an older release with --to")),
        Some(_) => Ok(()),
        None => {
            crate::plan::note(
                reporter,
                format!(
                    "licence covers releases until {until}, but the source gives no publish date for {}: not checked",
                    release.version
                ),
            );
            Ok(())
        }
    }
}

/// The YYYY-MM-DD date up to which the licence covers releases.
pub fn covered_until(inst: &Instance, cfg: &LicenceConfig) -> Result<String> {
    let raw = source::read(
        &cfg.from,
        &inst.client,
        &inst.loaded.dir,
        &inst.current_vars()?,
        "licence",
    )?;
    let text = match &cfg.pointer {
        Some(pointer) => {
            let json: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| {
                Error::input("licence: the value is not JSON, but licence.pointer is set")
            })?;
            match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => {
                    return Err(Error::input(format!(
                        "licence: no date string at JSON pointer `{pointer}`"
                    )))
                }
            }
        }
        None => String::from_utf8_lossy(&raw).trim().to_string(),
    };
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
        return Err(Error::input("licence: the value read does not start with a YYYY-MM-DD date")
            .hint("point licence.pointer at the date field (the value itself is not shown: it may be secret)"));
    }
    Ok(date.to_string())
}
