//! Backups as operations: the key bundle and the database, each written,
//! verified and entered in the catalog. Used by the run's steps and by the
//! `backup` and `backups` commands alike.

use crate::drivers::keys::KeyBundle;
use crate::engine::instance::Instance;
use crate::engine::state::{BackupKind, BackupRecord, NewBackup, State, StepStatus};
use crate::engine::step_outputs::{DbBackedUp, StepOutput};
use crate::support::error::{Context, Error, Result};
use crate::support::fsutil;
use crate::support::version::Version;

/// What a key backup did.
#[derive(Debug)]
pub enum KeysOutcome {
    /// A new bundle was written and verified.
    Written(BackupRecord),
    /// The keys have not changed since this verified bundle.
    Unchanged(BackupRecord),
}

/// Headroom asked for beyond the database size: 10% and 16 MiB.
fn needed_for(size: u64) -> u64 {
    size + size / 10 + 16 * 1024 * 1024
}

/// Refuses when the backup folder's file system cannot hold a database backup.
pub fn check_space(inst: &Instance) -> Result<()> {
    if inst.db.as_in_server().is_some() {
        return Ok(());
    }
    let dir = inst.backups_dir();
    let size = inst.db.size()?;
    let free = fsutil::free_space(&dir)?;
    let needed = needed_for(size);
    if free < needed {
        return Err(Error::input(format!(
            "not enough disk space for the database backup: {} needed in {}, {} free",
            mib(needed),
            dir.display(),
            mib(free)
        ))
        .hint("free some space, or set backups.dir to a larger file system"));
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Backs up the keys unless an identical verified bundle exists (`force`
/// writes one anyway).
pub fn keys(
    inst: &Instance,
    state: &State,
    run_id: Option<&str>,
    version: &Version,
    force: bool,
) -> Result<KeysOutcome> {
    let cfg = inst.loaded.file.keys.as_ref().ok_or_else(|| {
        Error::input("the instance file has no [keys] section")
            .hint("add one: see docs/instance-file.md")
    })?;
    let bundle = KeyBundle::collect(cfg, &inst.client, &inst.loaded.dir, &inst.current_vars()?)?;
    // The fingerprint covers who can open the bundle too: a rotated
    // passphrase or new recipients call for a new bundle.
    let encryption = match &cfg.passphrase {
        Some(p) => p.resolve("keys.passphrase")?.expose().to_string(),
        None => cfg.recipients.join(","),
    };
    let salt = state.salt()?;
    let fingerprint = fsutil::sha256_bytes(
        format!(
            "{}:{}",
            bundle.fingerprint(&salt),
            fsutil::sha256_bytes(&[salt.as_slice(), encryption.as_bytes()].concat())
        )
        .as_bytes(),
    );
    if !force {
        let previous = state
            .backups(Some(BackupKind::Keys))?
            .into_iter()
            .find(|b| {
                b.fingerprint.as_deref() == Some(fingerprint.as_str())
                    && b.verified_ok != Some(false)
                    && fsutil::sha256_file(&b.path).ok().as_deref() == Some(b.sha256.as_str())
            });
        if let Some(previous) = previous {
            return Ok(KeysOutcome::Unchanged(previous));
        }
    }
    let path = inst.backups_dir().join(format!("keys-{}.age", stamp()));
    let (size, sha256) = bundle.write(cfg, &path)?;
    let detail = if cfg.passphrase.is_some() || cfg.identity.is_some() {
        "read back and decrypted to the same keys"
    } else {
        "read back byte for byte (no identity given to decrypt)"
    };
    let id = state.add_backup(&NewBackup {
        kind: BackupKind::Keys,
        path: &path,
        size,
        sha256: &sha256,
        version: &version.to_string(),
        run_id,
        fingerprint: Some(&fingerprint),
        verified: true,
        verify_detail: detail,
    })?;
    Ok(KeysOutcome::Written(catalogued(state, id)?))
}

/// Backs up the database, verified, into the catalog.
pub fn database(
    inst: &Instance,
    state: &State,
    run_id: Option<&str>,
    version: &Version,
    progress: &dyn Fn(u64, u64),
) -> Result<BackupRecord> {
    let dir = private_dir(&inst.backups_dir())?;
    sweep_partial(inst)?;
    let name = format!("db-{version}-{}.bak", stamp());
    let file = inst.db.backup(&dir, &name, progress)?;
    catalogue_db(
        state,
        &file,
        run_id,
        version,
        "verified when taken; SHA-256 recorded",
    )
}

/// Removes what database backups cut off by a crash left in the backup
/// folder: every driver writes `db-*.bak` as `.db-*.bak.tmp` (SQLite also
/// leaves `-journal`/`-wal` beside it), and renames it only once verified,
/// so such a name is never a backup. Safe to run again; returns how many
/// were removed. The caller holds the instance lock, so no backup is being
/// written now.
pub fn sweep_partial(inst: &Instance) -> Result<usize> {
    let dir = inst.backups_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".db-") && name.contains(".bak.tmp")) {
            continue;
        }
        let path = entry.path();
        let gone = match entry.file_type().is_ok_and(|t| t.is_dir()) {
            true => std::fs::remove_dir_all(&path),
            false => std::fs::remove_file(&path),
        };
        gone.context(|| format!("cannot remove the partial backup {}", path.display()))?;
        removed += 1;
    }
    Ok(removed)
}

/// Exports an in-server backup (a snapshot) as a portable one, catalogued
/// beside it; `None` when the backup is portable already.
pub fn export(
    inst: &Instance,
    state: &State,
    run_id: Option<&str>,
    version: &Version,
    id: i64,
) -> Result<Option<BackupRecord>> {
    let record = state
        .backup(id)?
        .ok_or_else(|| Error::failed(format!("backup #{id} is not in the catalog")))?;
    let Some(in_server) = inst.db.as_in_server() else {
        return Ok(None);
    };
    let dir = private_dir(&inst.backups_dir())?;
    let name = format!("db-{version}-{}.bak", stamp());
    match in_server.export(&record.path, &dir, &name)? {
        Some(file) => catalogue_db(
            state,
            &file,
            run_id,
            version,
            "exported from a snapshot and verified",
        )
        .map(Some),
        None => Ok(None),
    }
}

fn catalogue_db(
    state: &State,
    file: &crate::drivers::db::BackupFile,
    run_id: Option<&str>,
    version: &Version,
    detail: &str,
) -> Result<BackupRecord> {
    restrict(&file.path)?;
    let id = state.add_backup(&NewBackup {
        kind: BackupKind::Db,
        path: &file.path,
        size: file.size,
        sha256: &file.sha256,
        version: &version.to_string(),
        run_id,
        fingerprint: None,
        verified: true,
        verify_detail: detail,
    })?;
    catalogued(state, id)
}

/// Creates `dir` readable by its owner only: backups hold the instance's data.
fn private_dir(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    fsutil::create_dirs(dir)?;
    restrict(dir)?;
    Ok(dir.to_path_buf())
}

/// Makes a backup file 0600 (a folder 0700).
fn restrict(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .context(|| format!("cannot restrict the permissions of {}", path.display()))
}

/// The database backup an upgrade run took, verified again: `Ok(Ok(id))`
/// when it can be restored, `Ok(Err(reason))` when it cannot.
pub fn of_run(inst: &Instance, state: &State, run_id: &str) -> Result<Result<i64>> {
    let step = state
        .steps(run_id)?
        .into_iter()
        .find(|s| s.name == DbBackedUp::STEP.name() && s.status == StepStatus::Done);
    let Some(step) = step else {
        return Ok(Err(Error::input(format!(
            "run {run_id} took no database backup"
        ))));
    };
    let id = DbBackedUp::from_journal(&step.output)?.backup_id;
    let Some(record) = state.backup(id)? else {
        return Ok(Err(Error::input(format!(
            "backup #{id} of run {run_id} is not in the catalog"
        ))));
    };
    Ok(match verify(inst, state, &record) {
        Ok(()) => Ok(id),
        Err(e) => Err(Error::input(format!(
            "backup #{id} of run {run_id} cannot be used: {}",
            e.chain()
        ))),
    })
}

/// Restores a catalogued database backup after verifying it again, and
/// proves the restored data equals the backup's where the engine can tell.
pub fn restore(inst: &Instance, state: &State, id: i64) -> Result<String> {
    let record = state
        .backup(id)?
        .ok_or_else(|| Error::failed(format!("backup #{id} is not in the catalog")))?;
    // Already restored (a crash after the restore, before the journal said
    // so): a snapshot is consumed by its restore, so this must not fail.
    if inst.db.is_restored(&record.path)? {
        consumed(inst, state, &record)?;
        return Ok(format!("backup #{id} is restored already"));
    }
    let expected = inst.db.backup_checksum(&record.path).ok().flatten();

    verify(inst, state, &record).map_err(|e| {
        Error::failed(format!("refusing to restore backup #{id}: {}", e.chain())).hint(
            "the live database was not touched; find another backup with `upshift backups list`",
        )
    })?;
    inst.db.restore(&record.path)?;
    consumed(inst, state, &record)?;
    match expected {
        Some(expected) => {
            let actual = inst.db.content_checksum()?;
            if actual != expected {
                return Err(Error::failed(format!(
                    "after restoring backup #{id}, the database content checksum is {actual}, the backup's is {expected}"
                )));
            }
            Ok(format!(
                "backup #{id} restored; content checksum {}… matches",
                &actual[..12]
            ))
        }
        None => Ok(format!("backup #{id} restored")),
    }
}

/// Marks `record` consumed in the catalog when its restore used it up.
fn consumed(inst: &Instance, state: &State, record: &BackupRecord) -> Result<()> {
    match inst.db.consumed_by_restore(&record.path) {
        true => state.mark_consumed(record.id),
        false => Ok(()),
    }
}

/// Verifies a catalogued backup again and records the result. A consumed
/// backup fails (it cannot be restored), without touching its record.
pub fn verify(inst: &Instance, state: &State, record: &BackupRecord) -> Result<()> {
    if let Some(at) = &record.consumed_at {
        return Err(Error::failed(format!(
            "backup #{} was consumed by a restore at {at}: its data became the live database",
            record.id
        ))
        .hint("`upshift backups list` shows the backups that can still be restored"));
    }
    let result = verify_file(inst, record);
    let detail = match &result {
        Ok(detail) => detail.clone(),
        Err(e) => e.chain(),
    };
    state.record_verification(record.id, result.is_ok(), &detail)?;
    result.map(|_| ())
}

fn verify_file(inst: &Instance, record: &BackupRecord) -> Result<String> {
    let sha = match record.kind {
        BackupKind::Db => inst.db.backup_sha256(&record.path)?,
        BackupKind::Keys => fsutil::sha256_file(&record.path)?,
    };
    if sha != record.sha256 {
        return Err(Error::failed(format!(
            "backup #{} ({}): SHA-256 is {sha}, the catalog says {}",
            record.id,
            record.path.display(),
            record.sha256
        ))
        .hint("the file was changed or corrupted; do not restore from it"));
    }
    match record.kind {
        BackupKind::Db => {
            inst.db.verify(&record.path)?;
            Ok("SHA-256 matches; integrity check ok".into())
        }
        BackupKind::Keys => {
            let cfg = inst.loaded.file.keys.as_ref();
            match cfg.filter(|c| c.passphrase.is_some() || c.identity.is_some()) {
                Some(cfg) => {
                    let bundle = KeyBundle::open(cfg, &record.path)?;
                    Ok(format!(
                        "SHA-256 matches; decrypts to {} keys",
                        bundle.names().len()
                    ))
                }
                None => Ok("SHA-256 matches (no passphrase or identity to decrypt)".into()),
            }
        }
    }
}

fn catalogued(state: &State, id: i64) -> Result<BackupRecord> {
    state
        .backup(id)?
        .ok_or_else(|| Error::failed(format!("backup #{id} vanished from the catalog")))
}

/// A sortable, unique-enough file name stamp: UTC time to the millisecond.
fn stamp() -> String {
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    now.replace([':', '-'], "")
        .replace('.', "-")
        .trim_end_matches('Z')
        .to_string()
}

/// Deletes the backups beyond the retention policy (`[backups] keep_db`,
/// `keep_keys`), newest kept first. Never deleted, whatever the policy: the
/// backups of an unfinished run, the database backup of the latest
/// succeeded upgrade (a rollback needs it), and the newest key bundle.
/// Consumed backups are not counted toward `keep_db` (they are no longer
/// backups) and stay in the catalog as history.
pub fn prune(inst: &Instance, state: &State) -> Result<Vec<BackupRecord>> {
    let policy = &inst.loaded.file.backups;
    let mut protected_runs: Vec<String> =
        state.unfinished_run()?.into_iter().map(|r| r.id).collect();
    let latest = state
        .runs(10_000)?
        .into_iter()
        .find(|r| r.status == crate::engine::state::RunStatus::Succeeded);
    protected_runs.extend(latest.map(|r| r.id));
    let mut pruned = Vec::new();
    for (kind, keep) in [
        (BackupKind::Db, policy.keep_db),
        (BackupKind::Keys, policy.keep_keys.max(1)),
    ] {
        let live = state
            .backups(Some(kind))?
            .into_iter()
            .filter(|r| r.consumed_at.is_none());
        for record in live.skip(keep) {
            if record
                .run_id
                .as_ref()
                .is_some_and(|r| protected_runs.contains(r))
            {
                continue;
            }
            if record.path.exists() {
                inst.db.discard(&record.path)?;
            }
            state.forget_backup(record.id)?;
            pruned.push(record);
        }
    }
    Ok(pruned)
}
