//! Release versions: YEAR.MINOR.PATCH (Octopus' calendar scheme) and semver,
//! which share one syntax, ordered and classified.
//!
//! A two-part version (`2026.1`) is read as `2026.1.0`, and a leading `v` is
//! dropped, because real feeds publish both.

use crate::support::error::{Error, Result};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A release version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(semver::Version);

/// How far apart two versions are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Same,
    Patch,
    Minor,
    Major,
}

impl Version {
    /// The first number (the year for calendar versions).
    pub fn major(&self) -> u64 {
        self.0.major
    }

    /// How `to` differs from `self`.
    pub fn change_to(&self, to: &Version) -> Change {
        if self.0.major != to.0.major {
            Change::Major
        } else if self.0.minor != to.0.minor {
            Change::Minor
        } else if self == to {
            Change::Same
        } else {
            Change::Patch
        }
    }
}

impl FromStr for Version {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let trimmed = s.trim().trim_start_matches('v');
        let padded = if trimmed
            .split(['-', '+'])
            .next()
            .unwrap_or("")
            .matches('.')
            .count()
            == 1
        {
            let (core, rest) = trimmed.split_at(trimmed.find(['-', '+']).unwrap_or(trimmed.len()));
            format!("{core}.0{rest}")
        } else {
            trimmed.to_string()
        };
        semver::Version::parse(&padded).map(Version).map_err(|e| {
            Error::input(format!("`{s}` is not a version ({e})"))
                .hint("versions look like 2026.2.0 (YEAR.MINOR.PATCH) or 1.4.2 (semver)")
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::Same => "same",
            Change::Patch => "patch",
            Change::Minor => "minor",
            Change::Major => "major",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn orders_calendar_and_semver() {
        assert!(v("2026.1.10") > v("2026.1.9"));
        assert!(v("2026.2.0") > v("2026.1.99"));
        assert!(v("1.4.0-rc.1") < v("1.4.0"));
        assert_eq!(v("v2026.3"), v("2026.3.0"));
    }

    #[test]
    fn classifies() {
        assert_eq!(v("2026.1.0").change_to(&v("2026.1.1")), Change::Patch);
        assert_eq!(v("2026.1.1").change_to(&v("2026.2.0")), Change::Minor);
        assert_eq!(v("2026.2.0").change_to(&v("2027.1.0")), Change::Major);
        assert_eq!(v("2026.2.0").change_to(&v("2026.2.0")), Change::Same);
    }

    #[test]
    fn rejects_garbage() {
        let err = "2026.x".parse::<Version>().unwrap_err();
        assert!(err.to_string().contains("2026.x"));
    }
}
