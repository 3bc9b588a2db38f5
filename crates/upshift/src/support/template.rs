//! `{placeholder}` templating for command lines in the instance file.
//!
//! Only a fixed set of names exists; [`check`] rejects any other at load
//! time, so a typo is an error before a run, not a surprise inside one.
//! Values are substituted into argv elements one by one: no shell is
//! involved, so nothing needs quoting.

use std::collections::BTreeMap;

/// The names a template may use (`backup` and `sql` have values in the
/// commands of a command database only).
pub const NAMES: &[&str] = &[
    "version",
    "from",
    "dir",
    "root",
    "current",
    "db",
    "instance_dir",
    "state_dir",
    "backup",
    "sql",
    "artifact",
];

/// Values for the placeholders.
#[derive(Debug, Clone, Default)]
pub struct Vars(BTreeMap<&'static str, String>);

impl Vars {
    /// Sets one placeholder; `name` must be one of [`NAMES`].
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        debug_assert!(NAMES.contains(&name));
        self.0.insert(name, value.into());
        self
    }

    /// Renders one argument.
    pub fn render(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if self.0.contains_key(&after[..close]) => {
                    out.push_str(&self.0[&after[..close]]);
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Renders a whole command line.
    pub fn render_all(&self, argv: &[String]) -> Vec<String> {
        argv.iter().map(|a| self.render(a)).collect()
    }
}

/// Checks that every `{name}` in `template` is a known placeholder.
pub fn check(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Ok(());
        };
        let name = &after[..close];
        let looks_like_placeholder =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if looks_like_placeholder && !NAMES.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} in `{template}` (known: {})",
                NAMES.join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_and_keeps_other_braces() {
        let mut vars = Vars::default();
        vars.set("version", "2026.2.0").set("dir", "/srv/v");
        assert_eq!(
            vars.render("{dir}/bin --v={version}"),
            "/srv/v/bin --v=2026.2.0"
        );
        assert_eq!(vars.render("{\"a\":1}"), "{\"a\":1}");
    }

    #[test]
    fn rejects_unknown_placeholder() {
        assert!(check("{versoin}").unwrap_err().contains("versoin"));
        assert!(check("{version} {\"json\": 1}").is_ok());
    }
}
