//! Helpers shared by the integration tests.

use serde_json::Value;

/// The JSON lines a `--json` command printed.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The last line of type `summary`.
pub fn summary(stdout: &[u8]) -> Value {
    json_lines(stdout)
        .into_iter()
        .rev()
        .find(|v| v["type"] == "summary")
        .unwrap_or_else(|| panic!("no summary in:\n{}", String::from_utf8_lossy(stdout)))
}
