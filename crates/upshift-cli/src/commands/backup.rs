//! `upshift backup keys|db` and `upshift backups list|verify`.

use crate::cli::{BackupWhat, BackupsAction};
use crate::output;
use crate::output::outln;
use upshift::engine::backup::{self, KeysOutcome};
use upshift::engine::instance::Instance;
use upshift::engine::state::BackupRecord;
use upshift::operations::output::{Backups, Output, Verified};
use upshift::Result;

pub fn take(inst: &Instance, what: BackupWhat, json: bool) -> Result<i32> {
    let _lock = inst.lock("backup")?;
    let state = inst.state()?;
    let version = inst.current_version()?;
    let record = match what {
        BackupWhat::Keys => match backup::keys(inst, &state, None, &version, true)? {
            KeysOutcome::Written(r) | KeysOutcome::Unchanged(r) => r,
        },
        BackupWhat::Db => {
            backup::check_space(inst)?;
            backup::database(inst, &state, None, &version, &|_, _| {})?
        }
    };
    if json {
        output::json_line(&Output::Backup(record));
    } else {
        outln!(
            "backup #{} written and verified: {} ({} bytes)",
            record.id,
            record.path.display(),
            record.size
        );
    }
    Ok(0)
}

pub fn catalog(inst: &Instance, action: &BackupsAction, json: bool) -> Result<i32> {
    let state = inst.state()?;
    match action {
        BackupsAction::List => {
            let backups = state.backups(None)?;
            if json {
                output::json_line(&Output::Backups(Backups { backups }));
            } else {
                backups.iter().for_each(line);
            }
            Ok(0)
        }
        BackupsAction::Prune => {
            let _lock = inst.lock("backups prune")?;
            let pruned = backup::prune(inst, &state)?;
            if json {
                output::json_line(&Output::Pruned(Backups { backups: pruned }));
            } else if pruned.is_empty() {
                outln!("nothing to prune");
            } else {
                pruned
                    .iter()
                    .for_each(|b| outln!("pruned #{} {}", b.id, b.path.display()));
            }
            Ok(0)
        }
        BackupsAction::Verify => {
            let mut failed = 0;
            for record in state.backups(None)? {
                if let Some(at) = &record.consumed_at {
                    if json {
                        output::json_line(&Output::Verified(Verified {
                            id: record.id,
                            ok: true,
                            error: None,
                            consumed_at: Some(at.clone()),
                        }));
                    } else {
                        outln!("#{:<4} consumed by a restore at {at}: skipped", record.id);
                    }
                    continue;
                }
                let result = backup::verify(inst, &state, &record);
                if json {
                    output::json_line(&Output::Verified(Verified {
                        id: record.id,
                        ok: result.is_ok(),
                        error: result.as_ref().err().map(|e| e.chain()),
                        consumed_at: None,
                    }));
                } else {
                    match &result {
                        Ok(()) => outln!("#{:<4} ok      {}", record.id, record.path.display()),
                        Err(e) => outln!(
                            "#{:<4} FAILED  {}: {}",
                            record.id,
                            record.path.display(),
                            e.chain()
                        ),
                    }
                }
                failed += usize::from(result.is_err());
            }
            Ok(if failed == 0 { 0 } else { 1 })
        }
    }
}

fn line(b: &BackupRecord) {
    outln!(
        "#{:<4} {:<4} {:<10} {:>12} bytes  {}  {}  {}",
        b.id,
        format!("{:?}", b.kind).to_lowercase(),
        b.version,
        b.size,
        b.created_at,
        match (&b.consumed_at, b.verified_ok) {
            (Some(_), _) => "consumed",
            (None, Some(true)) => "verified",
            (None, Some(false)) => "FAILED",
            (None, None) => "unverified",
        },
        b.path.display()
    );
}
