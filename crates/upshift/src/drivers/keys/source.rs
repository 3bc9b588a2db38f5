//! Reading one value from where the instance file says it is: a file, the
//! standard output of a command, or the body of an HTTP GET.
//!
//! The value is returned byte for byte (no trimming): a key file must come
//! back exactly as it was. These reads run in preflight, before anything
//! changes, so every failure is an [`ErrorKind::Input`](crate::ErrorKind)
//! error naming `what` (for example `keys.sources master-key`). The value
//! itself is never part of an error: a failing command is reported by its
//! exit status and stderr, an HTTP answer by its status, never the body.
//! [`string_at`] picks one string out of a JSON value (a key from a
//! command's JSON output, a date from an API answer), again without ever
//! showing the value.

use crate::config::ValueSource;
use crate::drivers::http;
use crate::support::cmd;
use crate::support::error::{Error, Result};
use crate::support::fsutil;
use crate::support::template::Vars;
use std::path::Path;
use std::time::Duration;

/// The largest key file read: keys are small, and a FIFO or a device at
/// the path must not hang or exhaust upshift.
const MAX_KEY_FILE: u64 = 16 * 1024 * 1024;

/// How long a key command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads the value `source` names; commands run in `instance_dir`.
pub fn read(
    source: &ValueSource,
    client: &http::Client,
    instance_dir: &Path,
    vars: &Vars,
    what: &str,
) -> Result<Vec<u8>> {
    let value = match source {
        ValueSource::File(file) => fsutil::read_small(file.path(), MAX_KEY_FILE, what)?,
        ValueSource::Command(argv) => {
            cmd::run_ok(&vars.render_all(argv), instance_dir, COMMAND_TIMEOUT, what)
                .map_err(|e| {
                    e.into_input()
                        .hint("run the command by hand to see why it fails")
                })?
                .stdout
        }
        ValueSource::Http(get) => {
            let answer = client
                .get(&get.url, &[&get.headers])
                .map_err(|e| Error::input(format!("{what}: cannot read the value")).caused_by(e))?;
            if !answer.ok() {
                return Err(Error::input(format!(
                    "{what}: GET {} answered with status {}",
                    get.url, answer.status
                ))
                .hint("check the URL and the headers (credentials) in the instance file"));
            }
            answer.body
        }
    };
    if value.is_empty() {
        return Err(Error::input(format!("{what}: the value is empty"))
            .hint("an empty key cannot be the right one; check the source"));
    }
    if let Ok(text) = std::str::from_utf8(&value) {
        crate::support::redact::remember(text);
    }
    Ok(value)
}

/// The string at JSON `pointer` in `raw`; errors start with `what` and
/// never contain the value (it may be secret).
pub fn string_at(raw: &[u8], pointer: &str, what: &str) -> Result<String> {
    let json: serde_json::Value = serde_json::from_slice(raw).map_err(|_| {
        Error::input(format!(
            "{what}: the value is not JSON, but a JSON pointer (`{pointer}`) is set"
        ))
        .hint("run the source by hand to see what it gives (the value is not shown: it may be secret)")
    })?;
    match json.pointer(pointer) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(Error::input(format!(
            "{what}: no non-empty string at JSON pointer `{pointer}`"
        ))
        .hint("check the pointer against what the source gives (the value is not shown: it may be secret)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FilePath, HeaderValue, Headers, HttpGet};
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    const CANARY: &str = "canary-7f3a-secret";

    fn client() -> http::Client {
        http::Client::new(Duration::from_secs(5))
    }

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    /// Serves one request: `body` with `status` if the request carried the
    /// header `x-token: letmein`, else 403. Returns the URL.
    fn serve_once(status: u16, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/key", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorised = false;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                authorised |= line.trim().eq_ignore_ascii_case("x-token: letmein");
            }
            let (status, body) = if authorised {
                (status, body)
            } else {
                (403, "")
            };
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        });
        url
    }

    fn http_source(url: String, token: &str) -> ValueSource {
        let mut headers = Headers::new();
        headers.insert("x-token".into(), HeaderValue::Plain(token.into()));
        ValueSource::Http(HttpGet { url, headers })
    }

    #[test]
    fn reads_a_file_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, b"\x00key\n").unwrap();
        let source = ValueSource::File(FilePath::from_path(&path));
        assert_eq!(
            read(&source, &client(), dir.path(), &Vars::default(), "k").unwrap(),
            b"\x00key\n"
        );

        let missing = ValueSource::File(FilePath::from_path(dir.path().join("nope")));
        let err = read(
            &missing,
            &client(),
            dir.path(),
            &Vars::default(),
            "keys.sources k",
        )
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert!(err.chain().contains("keys.sources k"));
    }

    #[test]
    fn reads_a_command_output_in_the_instance_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("here"), "").unwrap();
        let source = ValueSource::Command(argv(&["sh", "-c", "test -f here && printf secret"]));
        assert_eq!(
            read(&source, &client(), dir.path(), &Vars::default(), "k").unwrap(),
            b"secret"
        );
    }

    #[test]
    fn a_failing_command_never_shows_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let script = format!("printf {CANARY}; echo broken >&2; exit 3");
        let source = ValueSource::Command(argv(&["sh", "-c", &script]));
        let err = read(
            &source,
            &client(),
            dir.path(),
            &Vars::default(),
            "keys.sources master",
        )
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        let text = format!("{} {:?}", err.chain(), err);
        assert!(
            text.contains("keys.sources master") && text.contains("broken"),
            "{text}"
        );
        assert!(!text.contains(CANARY), "{text}");

        let empty = ValueSource::Command(argv(&["true"]));
        let err = read(&empty, &client(), dir.path(), &Vars::default(), "k").unwrap_err();
        assert!(err.chain().contains("empty"));
    }

    #[test]
    fn reads_an_http_body_with_headers() {
        let url = serve_once(200, "http-key");
        let got = read(
            &http_source(url, "letmein"),
            &client(),
            Path::new("/"),
            &Vars::default(),
            "k",
        )
        .unwrap();
        assert_eq!(got, b"http-key");
    }

    #[test]
    fn an_http_refusal_never_shows_the_body() {
        let url = serve_once(500, CANARY);
        let err = read(
            &http_source(url, "letmein"),
            &client(),
            Path::new("/"),
            &Vars::default(),
            "keys.sources h",
        )
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        let text = format!("{} {:?}", err.chain(), err);
        assert!(
            text.contains("500") && text.contains("keys.sources h"),
            "{text}"
        );
        assert!(!text.contains(CANARY), "{text}");

        let url = serve_once(200, "x");
        let err = read(
            &http_source(url, "wrong"),
            &client(),
            Path::new("/"),
            &Vars::default(),
            "k",
        )
        .unwrap_err();
        assert!(err.chain().contains("403"), "{}", err.chain());
    }

    #[test]
    fn string_at_picks_a_string_and_never_shows_the_value() {
        let json = format!(r#"{{"MasterKey":"{CANARY}","N":3,"E":""}}"#);
        assert_eq!(
            string_at(json.as_bytes(), "/MasterKey", "k").unwrap(),
            CANARY
        );
        for (raw, pointer, expected) in [
            (
                json.as_str(),
                "/Missing",
                "no non-empty string at JSON pointer `/Missing`",
            ),
            (json.as_str(), "/N", "no non-empty string"),
            (json.as_str(), "/E", "no non-empty string"),
            (CANARY, "/MasterKey", "not JSON"),
        ] {
            let err = string_at(raw.as_bytes(), pointer, "keys.sources m").unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input);
            let text = format!("{} {:?}", err.chain(), err);
            assert!(
                text.contains("keys.sources m") && text.contains(expected),
                "{text}"
            );
            assert!(!text.contains(CANARY), "{text}");
        }
    }
}
