//! Errors that the binary turns into distinct exit codes.
//!
//! Everything else is an `anyhow` chain and exits 1; a schema mismatch is
//! what an upgrade tool must tell apart (3: migrate first, 4: the database is
//! from a newer release), so it is a type that can be downcast.

/// The database schema does not match what this release expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// Migrations are pending and were not run.
    #[error("database schema {found} is older than release {version} needs ({needed}): run `sample-server migrate`")]
    Older {
        /// The database's schema.
        found: u32,
        /// The release version.
        version: String,
        /// The schema the release needs.
        needed: u32,
    },
    /// The database was migrated by a newer release.
    #[error("database schema {found} is newer than this release ({supported}): restore the matching backup or install the newer release")]
    Newer {
        /// The database's schema.
        found: u32,
        /// The highest schema this release knows.
        supported: u32,
    },
}

impl SchemaError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Older { .. } => 3,
            Self::Newer { .. } => 4,
        }
    }
}
