//! `[clone]`: how a test instance is made from this one (see
//! `docs/rehearsal.md`).
//!
//! Design decisions:
//! - Paths here stay relative (plain strings, not [`super::FilePath`]): each
//!   one names a place in production's folder *and* the same place in the
//!   clone's folder, so every relative path of the instance file keeps
//!   working in the clone. Absolute paths and `..` are refused at load time.
//! - Replacements are literal text, applied to the clone's instance file and
//!   to every copied text file. Their values may use `{port}` (a free port
//!   upshift picks), `{name}` (the clone's name), `{dir}` (the clone's
//!   folder) and `{db}` (the clone's database: its file, or its PostgreSQL
//!   name); any other placeholder is an error at load time.
//! - Keys are written from production's verified key bundle, not copied from
//!   production's files: the clone proves that the bundle really holds what
//!   a restored server needs, as the runbook's test instance does.
//! - Isolation (`isolate_sql`, then `isolate`) runs on the clone before it
//!   first starts, so nothing it restored can reach the outside.

use crate::support::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component, Path};

/// The placeholders a replacement value may use.
pub const CLONE_PLACEHOLDERS: &[&str] = &["port", "name", "dir", "db"];

/// `[clone]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloneConfig {
    /// Files and folders copied to the same relative place in the clone.
    #[serde(default)]
    pub copy: Vec<String>,
    /// Text replaced in the clone's instance file and copied text files.
    #[serde(default)]
    pub replace: BTreeMap<String, String>,
    /// Key bundle entry -> relative file written (0600) in the clone.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    /// SQL statements run on the clone's database before it first starts.
    #[serde(default)]
    pub isolate_sql: Vec<String>,
    /// Commands (templated) run in the clone's folder before it first starts.
    #[serde(default)]
    pub isolate: Vec<Vec<String>>,
}

impl CloneConfig {
    /// Checks what serde cannot; `at` names the instance file in messages.
    pub(super) fn validate(&self, key_names: &[&str], at: &dyn Fn(&str) -> String) -> Result<()> {
        for (i, path) in self.copy.iter().enumerate() {
            relative(path, &at(&format!("clone.copy[{i}]")))?;
        }
        for (name, path) in &self.keys {
            let field = at(&format!("clone.keys.{name}"));
            relative(path, &field)?;
            if !key_names.contains(&name.as_str()) {
                return Err(Error::input(format!(
                    "{field}: there is no key `{name}` in [keys] sources"
                ))
                .hint(
                    "clone.keys names entries of the key bundle, as listed in [[keys.sources]]",
                ));
            }
        }
        for (from, to) in &self.replace {
            let field = at(&format!("clone.replace.{from:?}"));
            if from.is_empty() {
                return Err(Error::input(format!(
                    "{field}: the text to replace is empty"
                )));
            }
            check_placeholders(to).map_err(|e| Error::input(format!("{field}: {e}")))?;
        }
        for (i, sql) in self.isolate_sql.iter().enumerate() {
            if sql.trim().is_empty() {
                return Err(Error::input(format!(
                    "{}: the statement is empty",
                    at(&format!("clone.isolate_sql[{i}]"))
                )));
            }
        }
        Ok(())
    }
}

/// Renders `{port}`, `{name}`, `{dir}` and `{db}` in a replacement value.
pub fn render_clone_value(value: &str, vars: &BTreeMap<&str, String>) -> String {
    vars.iter().fold(value.to_string(), |text, (name, v)| {
        text.replace(&format!("{{{name}}}"), v)
    })
}

fn check_placeholders(value: &str) -> std::result::Result<(), String> {
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Ok(());
        };
        let name = &after[..close];
        if !CLONE_PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; known: {}",
                CLONE_PLACEHOLDERS
                    .iter()
                    .map(|n| format!("{{{n}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Refuses a path that is absolute or climbs out with `..`.
fn relative(path: &str, field: &str) -> Result<()> {
    let p = Path::new(path);
    let climbs = p.components().any(|c| matches!(c, Component::ParentDir));
    if path.is_empty() || p.is_absolute() || climbs {
        return Err(Error::input(format!(
            "{field}: `{path}` must be a relative path inside the instance file's folder"
        ))
        .hint("the same relative path is used in production's folder and in the clone's"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<CloneConfig, toml::de::Error> {
        toml::from_str(text)
    }

    fn at(field: &str) -> String {
        format!("upshift.toml: {field}")
    }

    #[test]
    fn fields_parse_and_typos_are_refused() {
        let cfg = parse(
            "copy = [\"server/server.toml\"]\nreplace = { \"a:1\" = \"a:{port}\" }\n\
             keys = { master = \"server/keys/master.key\" }\nisolate_sql = [\"DELETE FROM t\"]\n\
             isolate = [[\"true\"]]\n",
        )
        .unwrap();
        assert_eq!(cfg.copy, ["server/server.toml"]);
        cfg.validate(&["master"], &at).unwrap();
        assert!(parse("copies = []").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let bad = [
            ("copy = [\"/etc/passwd\"]", "clone.copy[0]"),
            ("copy = [\"../up\"]", "clone.copy[0]"),
            ("keys = { other = \"k\" }", "clone.keys.other"),
            (
                "replace = { \"x\" = \"{porta}\" }",
                "unknown placeholder {porta}",
            ),
            ("isolate_sql = [\" \"]", "clone.isolate_sql[0]"),
        ];
        for (text, field) in bad {
            let err = parse(text).unwrap().validate(&["master"], &at).unwrap_err();
            assert!(err.to_string().contains(field), "{text}: {err}");
            assert_eq!(err.kind(), crate::ErrorKind::Input);
        }
    }

    #[test]
    fn values_render_known_placeholders() {
        let vars = BTreeMap::from([("port", "9".to_string()), ("name", "t".to_string())]);
        assert_eq!(render_clone_value("h:{port}/{name}", &vars), "h:9/t");
    }
}
