//! `[database] kind = "command"`: a database upshift has no driver for,
//! backed up, verified and restored by the operator's own commands (SQL
//! Server through `sqlcmd`, MariaDB through `mariadb-dump`, ...). See
//! `docs/command-database.md` for the contract each command must keep.
//!
//! Credentials reach the commands only through `[database.env]`, whose
//! values may be secret references; there is no placeholder for a secret,
//! so none can reach a command line.

use crate::support::error::{Error, Result};
use crate::support::secret::SecretRef;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The commands and their environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandDbConfig {
    /// Shown in messages; the value of `{db}`.
    pub name: String,
    /// Writes a backup of the live data to `{backup}`.
    pub backup: Vec<String>,
    /// Exits 0 only if `{backup}` is a complete, readable backup.
    pub verify: Vec<String>,
    /// Replaces the live data with `{backup}`.
    pub restore: Vec<String>,
    /// Prints a fingerprint of the live content on stdout.
    pub checksum: Option<Vec<String>>,
    /// Runs `{sql}` and prints the scalar result on stdout.
    pub query: Option<Vec<String>>,
    /// Exits 0 when the database is reachable.
    pub ping: Option<Vec<String>>,
    /// How long each command may run.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Added to the environment of every command above.
    #[serde(default)]
    pub env: BTreeMap<String, EnvValue>,
}

/// An environment value: a plain string, or a secret (`{ env = "..." }`,
/// `{ file = "..." }`) read when a command runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    /// Written in the file as it is.
    Plain(String),
    /// Read from the environment or a file when needed.
    Secret(SecretRef),
}

fn default_timeout() -> Duration {
    Duration::from_secs(3600)
}

impl CommandDbConfig {
    /// Every command with its field name (`backup`, `verify`, ...).
    pub fn commands(&self) -> Vec<(&'static str, &Vec<String>)> {
        let mut out = vec![
            ("backup", &self.backup),
            ("verify", &self.verify),
            ("restore", &self.restore),
        ];
        let optional = [
            ("checksum", &self.checksum),
            ("query", &self.query),
            ("ping", &self.ping),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(field, argv)| argv.as_ref().map(|a| (field, a))),
        );
        out
    }

    /// Checks what serde cannot: a name, the placeholder each command needs,
    /// well-formed variable names. `at(field)` says where in the file.
    pub fn validate(&self, at: &dyn Fn(&str) -> String) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::input(format!(
                "{}: the name is empty",
                at("database.name")
            )));
        }
        let needs = [
            ("backup", Some(&self.backup), "{backup}"),
            ("verify", Some(&self.verify), "{backup}"),
            ("restore", Some(&self.restore), "{backup}"),
            ("query", self.query.as_ref(), "{sql}"),
        ];
        for (field, argv, placeholder) in needs {
            let Some(argv) = argv else { continue };
            if !argv.iter().any(|a| a.contains(placeholder)) {
                return Err(Error::input(format!(
                    "{}: the command never uses {placeholder}",
                    at(&format!("database.{field}"))
                ))
                .hint(format!(
                    "upshift says where the {} is through {placeholder}; see docs/command-database.md",
                    if placeholder == "{sql}" { "statement" } else { "backup file" }
                )));
            }
        }
        for name in self.env.keys() {
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(Error::input(format!(
                    "{}: `{name}` is not an environment variable name",
                    at("database.env")
                ))
                .hint("use letters, digits and `_`, not starting with a digit"));
            }
        }
        Ok(())
    }

    /// The secret references among the environment values, by variable.
    pub fn secrets(&self) -> impl Iterator<Item = (&String, &SecretRef)> {
        self.env.iter().filter_map(|(name, value)| match value {
            EnvValue::Secret(s) => Some((name, s)),
            EnvValue::Plain(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        database: super::super::DatabaseConfig,
    }

    const MINIMAL: &str = r#"
[database]
kind = "command"
name = "Octopus"
backup  = ["sqlcmd", "-Q", "BACKUP DATABASE [Octopus] TO DISK = N'{backup}'"]
verify  = ["sqlcmd", "-Q", "RESTORE VERIFYONLY FROM DISK = N'{backup}'"]
restore = ["sqlcmd", "-Q", "RESTORE DATABASE [Octopus] FROM DISK = N'{backup}' WITH REPLACE"]
"#;

    fn parse(text: &str) -> CommandDbConfig {
        match toml::from_str::<File>(text).expect("parses").database {
            super::super::DatabaseConfig::Command(c) => c,
            other => panic!("not a command database: {other:?}"),
        }
    }

    fn at(field: &str) -> String {
        field.to_string()
    }

    #[test]
    fn the_documented_syntax_parses_with_defaults() {
        let cfg = parse(MINIMAL);
        assert_eq!(cfg.name, "Octopus");
        assert_eq!(cfg.timeout, Duration::from_secs(3600));
        assert!(cfg.checksum.is_none() && cfg.query.is_none() && cfg.ping.is_none());
        assert_eq!(cfg.commands().len(), 3);
        cfg.validate(&at).unwrap();

        let cfg = parse(&format!(
            "{MINIMAL}checksum = [\"sh\", \"-c\", \"echo 1\"]\nquery = [\"q\", \"{{sql}}\"]\n\
             ping = [\"true\"]\ntimeout = \"5m\"\n[database.env]\n\
             SQLCMDPASSWORD = {{ env = \"OCTOPUS_SQL_PASSWORD\" }}\nMYSQL_HOST = \"127.0.0.1\"\n"
        ));
        assert_eq!(cfg.timeout, Duration::from_secs(300));
        assert_eq!(cfg.commands().len(), 6);
        assert!(matches!(&cfg.env["MYSQL_HOST"], EnvValue::Plain(h) if h == "127.0.0.1"));
        let secrets: Vec<_> = cfg.secrets().collect();
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].0, "SQLCMDPASSWORD");
        assert_eq!(secrets[0].1.env.as_deref(), Some("OCTOPUS_SQL_PASSWORD"));
        cfg.validate(&at).unwrap();
    }

    #[test]
    fn every_example_in_the_documentation_parses_and_validates() {
        let page = include_str!("../../../../docs/command-database.md");
        let examples: Vec<&str> = page
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split_once("```").map(|(block, _)| block))
            .filter(|b| b.starts_with("[database]\nkind = \"command\""))
            .collect();
        assert_eq!(examples.len(), 3, "the overview, MariaDB and SQL Server");
        for example in examples {
            let cfg = parse(example);
            cfg.validate(&at)
                .unwrap_or_else(|e| panic!("{}:\n{example}", e.chain()));
            assert!(cfg.secrets().count() == 1, "{example}");
        }
    }

    #[test]
    fn typos_and_missing_placeholders_are_refused() {
        assert!(toml::from_str::<File>(&format!("{MINIMAL}checksums = [\"x\"]\n")).is_err());
        let no_backup = MINIMAL.replace("TO DISK = N'{backup}'", "TO DISK = N'/tmp/x.bak'");
        let e = parse(&no_backup).validate(&at).unwrap_err();
        assert!(e.chain().contains("database.backup") && e.chain().contains("{backup}"));
        let e = parse(&format!("{MINIMAL}query = [\"q\", \"SELECT 1\"]\n"))
            .validate(&at)
            .unwrap_err();
        assert!(e.chain().contains("database.query"), "{}", e.chain());
        let e = parse(&format!("{MINIMAL}[database.env]\n\"A-B\" = \"x\"\n"))
            .validate(&at)
            .unwrap_err();
        assert!(e.chain().contains("A-B"), "{}", e.chain());
        let e = parse(&MINIMAL.replace("\"Octopus\"", "\" \""))
            .validate(&at)
            .unwrap_err();
        assert!(e.chain().contains("database.name"), "{}", e.chain());
    }
}
