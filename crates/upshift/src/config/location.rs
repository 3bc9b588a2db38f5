//! Which line of the instance file a parse error is about.
//!
//! toml gives a byte span; for an unknown field (`deny_unknown_fields`)
//! that span is the field's table, not the field, so a typo on line 20
//! was reported at its table's line. The field's own key is looked up in
//! that table instead (bare, double- or single-quoted, before `=` or a
//! dotted key's `.`); an inline table falls back to its span, which is on
//! the same line. Lines count newlines before the offset, so a span at the
//! start of a line is on that line.

/// The hint of a parse error: the line it is about.
pub(super) fn hint(text: &str, message: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let at = unknown_field(message)
                .and_then(|key| key_offset(text, span.start, key))
                .unwrap_or(span.start);
            let line = text[..at.min(text.len())].matches('\n').count() + 1;
            format!("see line {line}; every field is described in docs/instance-file.md")
        }
        None => "every field is described in docs/instance-file.md".into(),
    }
}

/// The field serde names in "unknown field `x`, expected ...".
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// Where `key = ...` starts in the table whose span starts at `from`: for an
/// unknown field, serde reports the span of its table, not of the key.
fn key_offset(text: &str, from: usize, key: &str) -> Option<usize> {
    let mut offset = from;
    for (i, line) in text.get(from..)?.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if i > 0 && trimmed.starts_with('[') {
            return None;
        }
        let named = [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
            .iter()
            .any(|k| {
                trimmed
                    .strip_prefix(k.as_str())
                    .is_some_and(|rest| matches!(rest.trim_start().chars().next(), Some('=' | '.')))
            });
        if named {
            return Some(offset + line.len() - trimmed.len());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_field_is_found_in_its_table() {
        let text = "[a]\nx = 1\n\n[service]\nkind = \"process\"\n\"start_timout\" = \"2s\"\n[b]\nstart_timout = 1\n";
        let table = text.find("[service]").unwrap();
        let hint = hint(
            text,
            "unknown field `start_timout`, expected one of",
            Some(table..table + 9),
        );
        assert!(hint.starts_with("see line 6;"), "{hint}");
    }

    #[test]
    fn a_span_at_a_line_start_is_on_that_line() {
        let text = "a = 1\nb = 2\n";
        assert!(hint(text, "invalid type", Some(6..7)).starts_with("see line 2;"));
    }
}
