//! `upshift backup keys|db` and `upshift backups list|verify`.

use crate::cli::{BackupWhat, BackupsAction};
use crate::output;
use serde_json::json;
use upshift::engine::backup::{self, KeysOutcome};
use upshift::engine::instance::Instance;
use upshift::engine::state::BackupRecord;
use upshift::Result;

pub fn take(inst: &Instance, what: BackupWhat) -> Result<i32> {
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
    println!(
        "backup #{} written and verified: {} ({} bytes)",
        record.id,
        record.path.display(),
        record.size
    );
    Ok(0)
}

pub fn catalog(inst: &Instance, action: &BackupsAction) -> Result<i32> {
    let state = inst.state()?;
    match action {
        BackupsAction::List(flag) => {
            let backups = state.backups(None)?;
            if flag.json {
                output::json_line(&json!({ "type": "backups", "backups": backups }));
            } else {
                backups.iter().for_each(line);
            }
            Ok(0)
        }
        BackupsAction::Prune(flag) => {
            let _lock = inst.lock("backups prune")?;
            let pruned = backup::prune(inst, &state)?;
            if flag.json {
                output::json_line(&json!({ "type": "pruned", "backups": pruned }));
            } else if pruned.is_empty() {
                println!("nothing to prune");
            } else {
                pruned
                    .iter()
                    .for_each(|b| println!("pruned #{} {}", b.id, b.path.display()));
            }
            Ok(0)
        }
        BackupsAction::Verify(flag) => {
            let mut failed = 0;
            for record in state.backups(None)? {
                if let Some(at) = &record.consumed_at {
                    if flag.json {
                        output::json_line(&json!({
                            "type": "verified", "id": record.id, "ok": true, "consumed_at": at,
                        }));
                    } else {
                        println!("#{:<4} consumed by a restore at {at}: skipped", record.id);
                    }
                    continue;
                }
                let result = backup::verify(inst, &state, &record);
                if flag.json {
                    output::json_line(&json!({
                        "type": "verified", "id": record.id, "ok": result.is_ok(),
                        "error": result.as_ref().err().map(|e| e.chain()),
                    }));
                } else {
                    match &result {
                        Ok(()) => println!("#{:<4} ok      {}", record.id, record.path.display()),
                        Err(e) => println!(
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
    println!(
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
