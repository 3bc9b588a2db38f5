//! Human output says what happened in rendered words: no command line is
//! shown as its template (`{current}/bin/...`), whatever the command.
//!
//! Design decision: one pass over the flows a newcomer runs after the
//! demo (plan, upgrade, status, history, check, service status, the
//! rollback and its plan), each output scanned for any `{word}`, so a new
//! message that forgets to render a template fails here, not in review.

use testkit::Sample;

/// The `{word}` placeholders left in `text`.
fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(close) = after.find('}') {
            let name = &after[..close];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                found.push(&rest[open..open + close + 2]);
            }
        }
        rest = after;
    }
    found
}

#[test]
fn no_human_output_shows_an_unrendered_placeholder() {
    let sample = Sample::started();
    let flows: [(&[&str], i32); 9] = [
        (&["plan"], 0),
        (&["upgrade", "--yes"], 0),
        (&["status"], 0),
        (&["history"], 0),
        (&["check"], 0),
        (&["service", "status"], 0),
        (&["rollback", "--yes", "--discard-newer-data"], 0),
        (&["status"], 0),
        (&["plan"], 0),
    ];
    for (args, code) in flows {
        let out = sample.run(args, code);
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            let left = placeholders(&text);
            assert!(
                left.is_empty(),
                "upshift {args:?}: {stream} shows {left:?}:\n{text}"
            );
        }
    }
}

#[test]
fn placeholders_are_found() {
    assert_eq!(
        placeholders("ran `{current}/bin/x {dir}` {\"json\": 1} {}"),
        ["{current}", "{dir}"]
    );
}

#[test]
fn a_rollback_says_what_a_rollback_does() {
    let sample = Sample::started();
    sample.run(&["upgrade", "--yes"], 0);
    let out = sample.run(&["rollback", "--yes", "--discard-newer-data"], 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for upgrade_words in ["new version", "record the upgrade", "health check(s) pass"] {
        assert!(
            !stdout.contains(upgrade_words),
            "a rollback says `{upgrade_words}`:\n{stdout}"
        );
    }
    for rollback_words in [
        "point `current` back at the earlier version",
        "start the earlier version",
        "record the rollback in the history",
    ] {
        assert!(
            stdout.contains(rollback_words),
            "no `{rollback_words}` in:\n{stdout}"
        );
    }
}
