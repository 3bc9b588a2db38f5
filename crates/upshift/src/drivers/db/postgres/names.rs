//! Names and quoting for the databases a backup or restore makes.
//!
//! Derived names are `<dbname>__<tag>_<UTC time to the millisecond>`, cut to
//! PostgreSQL's 63-byte limit by shortening the database part (the server
//! would silently truncate the end instead, and two names could collide).

/// PostgreSQL's longest identifier, in bytes.
pub(super) const MAX_NAME: usize = 63;

/// An identifier, double-quoted.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal, single-quoted.
pub(super) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A new database name derived from `db`, e.g. `app__snap_20260101T120000123`.
pub(super) fn derived(db: &str, tag: &str) -> String {
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let suffix = format!("__{tag}_{}", stamp.trim_end_matches('Z'));
    let mut keep = MAX_NAME.saturating_sub(suffix.len()).min(db.len());
    while !db.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &db[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn derived_names_fit_the_identifier_limit() {
        let short = derived("app", "snap");
        assert!(short.starts_with("app__snap_2"), "{short}");
        assert_eq!(short.len(), "app__snap_".len() + 18);
        let long = derived(&"é".repeat(40), "restore");
        assert!(
            long.len() <= MAX_NAME && long.contains("__restore_"),
            "{long}"
        );
    }
}
