//! What a step journals for later steps and undos: one type per step.
//!
//! Design decisions:
//! - Each output is a serde struct tied to the step that writes it
//!   ([`StepOutput::STEP`]). The step that writes it and every reader (a later
//!   step, an undo, a resumed run, planning a rollback) use that struct, so
//!   the compiler checks the contract a resume relies on.
//! - The journal keeps an output as JSON in the step's row, with the field
//!   names the untyped JSON of earlier versions used (`backup_id`, `path`,
//!   `dir`): their journals still read. A step without output journals `null`.

use crate::engine::step::StepKind;
use crate::support::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A step's journaled output.
pub trait StepOutput: Serialize + DeserializeOwned {
    /// The step that writes it.
    const STEP: StepKind;

    /// Reads the output from the JSON its step journaled.
    fn from_journal(value: &serde_json::Value) -> Result<Self> {
        Self::deserialize(value).map_err(|e| {
            Error::failed(format!(
                "the journaled output of `{}` cannot be read ({e})",
                Self::STEP
            ))
            .hint("this run was written by another upshift version; finish it with that version")
        })
    }

    /// The JSON the journal keeps.
    fn to_journal(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a step output is plain data")
    }
}

/// `backup-keys`: the verified key bundle, new or unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeysBackedUp {
    pub backup_id: i64,
}

impl StepOutput for KeysBackedUp {
    const STEP: StepKind = StepKind::BackupKeys;
}

/// `backup-db`: the catalogued database backup that `undo-backup-db`
/// restores, `export-backup` exports and a rollback run restores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbBackedUp {
    pub backup_id: i64,
    pub path: PathBuf,
}

impl StepOutput for DbBackedUp {
    const STEP: StepKind = StepKind::BackupDb;
}

/// `stage`: where the new version was unpacked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staged {
    pub dir: PathBuf,
}

impl StepOutput for Staged {
    const STEP: StepKind = StepKind::Stage;
}

/// `export-backup`: the portable dump made from an in-server snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exported {
    pub backup_id: i64,
}

impl StepOutput for Exported {
    const STEP: StepKind = StepKind::ExportBackup;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reads `journaled` (as an earlier version wrote it) and writes it back
    /// the same.
    fn same<T: StepOutput + PartialEq + std::fmt::Debug>(journaled: serde_json::Value, typed: T) {
        assert_eq!(T::from_journal(&journaled).unwrap(), typed);
        assert_eq!(typed.to_journal(), journaled);
    }

    #[test]
    fn journals_of_earlier_versions_read_and_are_written_the_same() {
        same(json!({ "backup_id": 3 }), KeysBackedUp { backup_id: 3 });
        same(
            json!({ "backup_id": 4, "path": "/srv/app/.upshift/backups/db-2026.1.0-20260101T000000-000.bak" }),
            DbBackedUp {
                backup_id: 4,
                path: "/srv/app/.upshift/backups/db-2026.1.0-20260101T000000-000.bak".into(),
            },
        );
        same(
            json!({ "dir": "/srv/app/versions/2026.2.0" }),
            Staged {
                dir: "/srv/app/versions/2026.2.0".into(),
            },
        );
        same(json!({ "backup_id": 5 }), Exported { backup_id: 5 });
    }

    #[test]
    fn a_missing_output_is_an_error_naming_the_step() {
        let error = DbBackedUp::from_journal(&serde_json::Value::Null).unwrap_err();
        assert!(error.to_string().contains("`backup-db`"), "{error}");
        assert!(KeysBackedUp::from_journal(&json!({ "path": "/x" })).is_err());
    }
}
