//! Which of production's backups a clone is made from: the latest verified
//! database backup and key bundle, or (with `--fresh`) new ones taken with
//! the usual care (maintenance on, back up, maintenance off).

use crate::config::CloneConfig;
use crate::engine::backup::{self, KeysOutcome};
use crate::engine::instance::Instance;
use crate::engine::state::{BackupKind, BackupRecord, State};
use crate::support::error::{Error, Result};
use crate::support::events::Reporter;
use crate::support::version::Version;

/// The latest verified backups of the installed version, verified again.
pub(super) fn latest_backups(
    prod: &Instance,
    state: &State,
    version: &Version,
    cfg: &CloneConfig,
) -> Result<(BackupRecord, Option<BackupRecord>)> {
    let usable = |kind: BackupKind, what: &str| -> Result<BackupRecord> {
        let candidates = state.backups(Some(kind))?.into_iter().filter(|b| {
            b.verified_ok != Some(false)
                && (kind == BackupKind::Keys || b.version == version.to_string())
        });
        for record in candidates {
            if backup::verify(prod, state, &record).is_ok() {
                return Ok(record);
            }
        }
        Err(Error::input(format!(
            "there is no verified {what} of {version} to clone from"
        ))
        .hint("take one with `upshift backup db` / `upshift backup keys`, or pass --fresh-backup"))
    };
    let db = usable(BackupKind::Db, "database backup")?;
    let keys = match cfg.keys.is_empty() {
        true => None,
        false => Some(usable(BackupKind::Keys, "key bundle")?),
    };
    Ok((db, keys))
}

/// New backups, with production in maintenance mode meanwhile; maintenance
/// is turned off again whatever happened.
pub(super) fn fresh_backups(
    prod: &Instance,
    state: &State,
    version: &Version,
    cfg: &CloneConfig,
    reporter: &dyn Reporter,
) -> Result<(BackupRecord, Option<BackupRecord>)> {
    backup::check_space(prod)?;
    reporter.note("production: maintenance on for a fresh backup".into());
    prod.maintenance.set(true)?;
    let taken = (|| {
        let db = backup::database(prod, state, None, version, &|_, _| {})?;
        let keys = match cfg.keys.is_empty() {
            true => None,
            false => Some(match backup::keys(prod, state, None, version, false)? {
                KeysOutcome::Written(r) | KeysOutcome::Unchanged(r) => r,
            }),
        };
        Ok((db, keys))
    })();
    let off = prod.maintenance.set(false);
    reporter.note("production: maintenance off".into());
    let taken = taken?;
    off.map_err(|e| e.hint("the backups were taken, but production is still in maintenance: `upshift maintenance off`"))?;
    Ok(taken)
}
