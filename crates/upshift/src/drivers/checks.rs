//! Checks: how a started server proves it works (after an upgrade's start,
//! after a rollback, and in `upshift check`).
//!
//! A check never fails with an error: it has an outcome, pass or fail, with
//! a detail saying what was last seen ("answered 418", `/Status was
//! "degraded", expected "ok"`), so a report can list every check. Checks
//! against a server that is still warming up (HTTP, command, version) are
//! retried about every 250ms until their `within` deadline; a SQL check reads
//! data that does not change by waiting, so it runs once. An answer that can
//! never pass (a 2xx that is not JSON where JSON is required) ends a check
//! at once: waiting would only hide the misconfiguration behind a timeout.
//! A version check reads a JSON answer at its pointer, or a plain-text
//! answer (`3.16.1`) as the version, trimmed. Numbers compare as
//! numbers (3 equals 3.0), whatever the JSON or the database made of them.
//! Details are built from URLs, statuses and bodies, never from request
//! headers, which may carry API keys.
//!
//! `within` is a deadline: each attempt's request or command gets only the
//! time left, never its own full timeout on top. The checks of one call run
//! side by side (scoped threads), so a down server costs one deadline, not
//! one per check. Where the server should already be up (`upshift check`,
//! [`Patience::RefusedIsFinal`]), a refused connection ends a check at once.

use crate::config::{version_in, CheckConfig, Headers, VersionIn};
use crate::drivers::db::Database;
use crate::drivers::http;
use crate::support::cmd;
use crate::support::error::Error;
use crate::support::template::Vars;
use crate::support::version::Version;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Time between two attempts of a retried check.
const RETRY: Duration = Duration::from_millis(250);
/// The least time an attempt gets: a zero timeout would not even start it.
const LEAST: Duration = Duration::from_millis(1);

/// How a check treats a server that refuses connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Patience {
    /// Retry until the deadline: the server may still be starting (the
    /// checks after a start, inside a run).
    #[default]
    UntilDeadline,
    /// A refused connection is the answer: the server should be up now
    /// (`upshift check`).
    RefusedIsFinal,
}

/// What a check needs to run.
#[derive(Debug)]
pub struct CheckContext<'a> {
    pub client: &'a http::Client,
    /// Command checks run here.
    pub instance_dir: &'a Path,
    /// For command checks' placeholders.
    pub vars: &'a Vars,
    pub db: &'a dyn Database,
    /// The version the server must report (version checks).
    pub expect_version: Option<&'a Version>,
    pub patience: Patience,
}

/// How one check went.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckOutcome {
    pub name: String,
    pub ok: bool,
    /// What was last seen.
    pub detail: String,
    /// How long the check took, retries included.
    pub ms: u64,
}

/// What one attempt saw: `Ok` passes with the detail, `Err` misses.
type Attempt = Result<String, Miss>;

/// What a failed attempt saw, whether nothing listened at all, and
/// whether trying again cannot help.
struct Miss {
    detail: String,
    refused: bool,
    hopeless: bool,
}

impl Miss {
    /// A miss no retry can turn into a pass: the server answered, in a
    /// form the check can never read.
    fn hopeless(detail: String) -> Miss {
        Miss {
            hopeless: true,
            ..Miss::from(detail)
        }
    }
}

impl From<String> for Miss {
    fn from(detail: String) -> Self {
        Miss {
            detail,
            refused: false,
            hopeless: false,
        }
    }
}

impl From<Error> for Miss {
    fn from(e: Error) -> Self {
        Miss {
            refused: http::refused(&e),
            detail: e.chain(),
            hopeless: false,
        }
    }
}

/// Runs one check, retrying it until its deadline where that makes sense.
pub fn run(check: &CheckConfig, ctx: &CheckContext) -> CheckOutcome {
    let began = Instant::now();
    let seen = match check {
        CheckConfig::Http {
            url,
            status,
            pointer,
            equals,
            headers,
            within,
            ..
        } => retry(*within, ctx.patience, &mut |deadline| {
            http_once(
                &ctx.client.until(deadline),
                url,
                headers,
                *status,
                pointer.as_deref(),
                equals.as_ref(),
            )
        }),
        CheckConfig::Command { run, within, .. } => {
            let argv = ctx.vars.render_all(run);
            retry(*within, ctx.patience, &mut |deadline| {
                command_once(ctx, &argv, deadline)
            })
        }
        CheckConfig::Sql { query, equals, .. } => {
            sql_once(ctx, query, equals).map_err(|m| m.detail)
        }
        CheckConfig::Version {
            url,
            pointer,
            format,
            headers,
            within,
            ..
        } => match ctx.expect_version {
            Some(expected) => retry(*within, ctx.patience, &mut |deadline| {
                let found = version_in(pointer.as_deref(), *format);
                version_once(&ctx.client.until(deadline), url, headers, found, expected)
            }),
            None => Err("no target version is known to compare with".into()),
        },
    };
    let (ok, detail) = match seen {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    CheckOutcome {
        name: name(check),
        ok,
        detail,
        ms: began.elapsed().as_millis() as u64,
    }
}

/// Runs every check at once, each on its own deadline; the outcomes come
/// in the order of `checks`.
pub fn run_all(checks: &[CheckConfig], ctx: &CheckContext) -> Vec<CheckOutcome> {
    std::thread::scope(|scope| {
        let running: Vec<_> = checks
            .iter()
            .map(|check| scope.spawn(move || run(check, ctx)))
            .collect();
        running
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The check's given name, or one derived from what it does.
pub fn name(check: &CheckConfig) -> String {
    match check {
        CheckConfig::Http { name: Some(n), .. }
        | CheckConfig::Command { name: Some(n), .. }
        | CheckConfig::Sql { name: Some(n), .. }
        | CheckConfig::Version { name: Some(n), .. } => n.clone(),
        CheckConfig::Http { url, .. } => format!("http GET {url}"),
        CheckConfig::Command { run, .. } => format!("command `{}`", run.join(" ")),
        CheckConfig::Sql { query, .. } => format!("sql `{query}`"),
        CheckConfig::Version { url, pointer, .. } => {
            format!(
                "version at {url} {}",
                pointer.as_deref().unwrap_or("(text)")
            )
        }
    }
}

/// Attempts until one passes, one misses hopelessly, or `within` has passed
/// (at least once), or, with [`Patience::RefusedIsFinal`], until a
/// connection is refused;
/// `attempt` gets the deadline, which none of its requests may outlive.
fn retry(
    within: Duration,
    patience: Patience,
    attempt: &mut dyn FnMut(Instant) -> Attempt,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let miss = match attempt(deadline) {
            Ok(detail) => return Ok(detail),
            Err(miss) => miss,
        };
        let now = Instant::now();
        if now >= deadline
            || miss.hopeless
            || (miss.refused && patience == Patience::RefusedIsFinal)
        {
            return Err(miss.detail);
        }
        std::thread::sleep(RETRY.min(deadline - now));
        if Instant::now() >= deadline {
            return Err(miss.detail);
        }
    }
}

fn http_once(
    client: &http::Client,
    url: &str,
    headers: &Headers,
    status: u16,
    pointer: Option<&str>,
    equals: Option<&Value>,
) -> Attempt {
    let answer = client.get(url, &[headers])?;
    if answer.status != status {
        return Err(format!("answered {}, expected {status}", answer.status).into());
    }
    let Some(pointer) = pointer.or(equals.map(|_| "")) else {
        return Ok(format!("answered {status}"));
    };
    let json = answer
        .json("the answer")
        .map_err(|e| Miss::hopeless(e.chain()))?;
    let found = http::at_pointer(&json, pointer, "the answer")?;
    match equals {
        Some(expected) if !same(found, expected) => {
            Err(format!("{pointer} was {found}, expected {expected}").into())
        }
        _ => Ok(format!("{pointer} is {found}")),
    }
}

fn command_once(ctx: &CheckContext, argv: &[String], deadline: Instant) -> Attempt {
    let left = deadline.saturating_duration_since(Instant::now());
    let out = cmd::run(argv, ctx.instance_dir, left.max(LEAST))?;
    if out.status.success() {
        return Ok("exited 0".into());
    }
    Err(match out.stderr_tail() {
        tail if tail.is_empty() => format!("{}", out.status),
        tail => format!("{}: {tail}", out.status),
    }
    .into())
}

fn sql_once(ctx: &CheckContext, query: &str, equals: &Value) -> Attempt {
    let found = ctx.db.query_scalar(query)?;
    if same(&found, equals) {
        Ok(format!("returned {found}"))
    } else {
        Err(format!("returned {found}, expected {equals}").into())
    }
}

fn version_once(
    client: &http::Client,
    url: &str,
    headers: &Headers,
    found: VersionIn,
    expected: &Version,
) -> Attempt {
    let answer = client.get(url, &[headers])?;
    if !answer.ok() {
        return Err(format!("answered {}", answer.status).into());
    }
    let text = match found {
        VersionIn::Text => String::from_utf8_lossy(&answer.body).trim().to_string(),
        VersionIn::Json(pointer) => {
            let json = answer.json("the answer").map_err(|e| {
                Miss::hopeless(format!(
                    "{}; a version check without `pointer` (or with `format = \"text\"`) reads a plain-text answer",
                    e.chain()
                ))
            })?;
            let found = http::at_pointer(&json, pointer, "the answer")?;
            found
                .as_str()
                .ok_or_else(|| format!("{pointer} was {found}, not a version string"))?
                .to_string()
        }
    };
    let version: Version = text.parse()?;
    if &version == expected {
        Ok(format!("reports {version}"))
    } else {
        Err(format!("reports {version}, expected {expected}").into())
    }
}

/// JSON equality where numbers compare by value (3 == 3.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BodyFormat, HeaderValue};
    use crate::drivers::db::BackupFile;
    use crate::drivers::service::test_http::{Reply, TestServer};
    use crate::support::error::{Context, Result};
    use serde_json::json;
    use std::sync::Mutex;

    const KEY: &str = "API-s3cret";

    /// A real SQLite database answering `query_scalar`; checks use nothing else.
    #[derive(Debug)]
    struct MemoryDb(Mutex<rusqlite::Connection>);

    impl Database for MemoryDb {
        fn describe(&self) -> String {
            "sqlite in memory".into()
        }
        fn name(&self) -> String {
            ":memory:".into()
        }
        fn size(&self) -> Result<u64> {
            unreachable!("checks only query")
        }
        fn ping(&self) -> Result<()> {
            unreachable!("checks only query")
        }
        fn backup(&self, _: &Path, _: &str, _: &dyn Fn(u64, u64)) -> Result<BackupFile> {
            unreachable!("checks only query")
        }
        fn verify(&self, _: &Path) -> Result<()> {
            unreachable!("checks only query")
        }
        fn restore(&self, _: &Path) -> Result<()> {
            unreachable!("checks only query")
        }
        fn content_checksum(&self) -> Result<String> {
            unreachable!("checks only query")
        }
        fn query_scalar(&self, sql: &str) -> Result<Value> {
            use rusqlite::types::ValueRef;
            let conn = self.0.lock().unwrap();
            conn.query_row(sql, [], |row| {
                Ok(match row.get_ref(0)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => json!(i),
                    ValueRef::Real(f) => json!(f),
                    ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => json!(hex::encode(b)),
                })
            })
            .context(|| format!("query `{sql}`"))
        }
    }

    fn db() -> MemoryDb {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        MemoryDb(Mutex::new(conn))
    }

    struct Fixture {
        client: http::Client,
        dir: tempfile::TempDir,
        vars: Vars,
        db: MemoryDb,
        version: Version,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                client: http::Client::new(Duration::from_secs(2)),
                dir: tempfile::tempdir().unwrap(),
                vars: Vars::default(),
                db: db(),
                version: "2026.2".parse().unwrap(),
            }
        }

        fn ctx(&self, expect: bool) -> CheckContext<'_> {
            CheckContext {
                client: &self.client,
                instance_dir: self.dir.path(),
                vars: &self.vars,
                db: &self.db,
                expect_version: expect.then_some(&self.version),
                patience: Patience::UntilDeadline,
            }
        }
    }

    /// `/api/health` answers 503 twice, then `{"Status": status}` with
    /// `code`, to callers with the API key; `/api` reports 2026.2.0.
    fn server(code: u16, status: &'static str) -> TestServer {
        TestServer::start(move |req, n| {
            if req.header("x-api-key") != Some(KEY) {
                return Reply::Json(401, json!({}));
            }
            match req.path.as_str() {
                "/api" => Reply::Json(200, json!({ "Version": "2026.2.0" })),
                _ if n < 2 => Reply::Json(503, json!({})),
                _ => Reply::Json(code, json!({ "Status": status })),
            }
        })
    }

    fn http_check(url: &str, equals: Option<Value>, within_ms: u64) -> CheckConfig {
        CheckConfig::Http {
            name: None,
            url: format!("{url}/api/health"),
            status: 200,
            pointer: equals.as_ref().map(|_| "/Status".into()),
            equals,
            headers: [("x-api-key".into(), HeaderValue::Plain(KEY.into()))].into(),
            within: Duration::from_millis(within_ms),
        }
    }

    #[test]
    fn http_check_is_retried_until_it_passes() {
        let f = Fixture::new();
        let server = server(200, "ok");
        let check = http_check(&server.url, Some(json!("ok")), 5000);
        let outcome = run(&check, &f.ctx(true));
        assert!(outcome.ok, "{outcome:?}");
        assert_eq!(outcome.detail, "/Status is \"ok\"");
        assert_eq!(outcome.name, format!("http GET {}/api/health", server.url));
        assert_eq!(server.requests().len(), 3);
    }

    #[test]
    fn http_check_fails_on_status_and_on_value() {
        let f = Fixture::new();
        let teapot = server(418, "ok");
        let outcome = run(&http_check(&teapot.url, None, 1000), &f.ctx(true));
        assert!(!outcome.ok);
        assert_eq!(outcome.detail, "answered 418, expected 200");
        assert!(outcome.ms >= 1000);
        let degraded = server(200, "degraded");
        let outcome = run(
            &http_check(&degraded.url, Some(json!("ok")), 1000),
            &f.ctx(true),
        );
        assert!(!outcome.ok);
        assert_eq!(outcome.detail, "/Status was \"degraded\", expected \"ok\"");
        assert!(!outcome.detail.contains(KEY));
    }

    #[test]
    fn command_check() {
        let f = Fixture::new();
        let sh = |s: &str| CheckConfig::Command {
            name: Some("marker".into()),
            run: vec!["sh".into(), "-c".into(), s.into()],
            within: Duration::from_millis(300),
        };
        std::fs::write(f.dir.path().join("marker"), "").unwrap();
        let pass = run(&sh("test -e marker"), &f.ctx(true));
        assert!(pass.ok, "{pass:?}");
        assert_eq!(pass.name, "marker");
        let fail = run(&sh("echo 'not ready' >&2; exit 1"), &f.ctx(true));
        assert!(!fail.ok);
        assert_eq!(fail.detail, "exit status: 1: not ready");
    }

    #[test]
    fn sql_check_compares_numbers_by_value() {
        let f = Fixture::new();
        let sql = |q: &str, equals: Value| CheckConfig::Sql {
            name: None,
            query: q.into(),
            equals,
        };
        let outcome = run(&sql("SELECT sum(x) * 1.0 FROM t", json!(3)), &f.ctx(true));
        assert!(outcome.ok, "{outcome:?}");
        let outcome = run(&sql("SELECT count(*) FROM t", json!(5)), &f.ctx(true));
        assert!(!outcome.ok);
        assert_eq!(outcome.detail, "returned 2, expected 5");
        let outcome = run(&sql("SELECT nope FROM t", json!(5)), &f.ctx(true));
        assert!(!outcome.ok);
        assert!(
            outcome.detail.contains("no such column"),
            "{}",
            outcome.detail
        );
    }

    #[test]
    fn refused_connection_is_final_only_when_the_server_should_be_up() {
        let f = Fixture::new();
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", free.local_addr().unwrap());
        drop(free);
        let check = http_check(&url, None, 600);
        let waited = run(&check, &f.ctx(true));
        assert!(!waited.ok && waited.ms >= 600, "{waited:?}");
        assert!(waited.detail.contains("connection refused"), "{waited:?}");
        let mut ctx = f.ctx(true);
        ctx.patience = Patience::RefusedIsFinal;
        let at_once = run(&check, &ctx);
        assert!(!at_once.ok && at_once.ms < 300, "{at_once:?}");
    }

    #[test]
    fn a_request_that_hangs_is_cut_off_at_the_deadline() {
        let mut f = Fixture::new();
        f.client = http::Client::new(Duration::from_secs(30));
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", silent.local_addr().unwrap());
        let outcome = run(&http_check(&url, None, 500), &f.ctx(true));
        assert!(!outcome.ok, "{outcome:?}");
        assert!(
            outcome.ms < 2000,
            "took {} ms for a 500 ms check",
            outcome.ms
        );
    }

    #[test]
    fn version_check() {
        let mut f = Fixture::new();
        let server = server(200, "ok");
        let check = CheckConfig::Version {
            name: None,
            url: format!("{}/api", server.url),
            pointer: Some("/Version".into()),
            format: None,
            headers: [("x-api-key".into(), HeaderValue::Plain(KEY.into()))].into(),
            within: Duration::from_millis(300),
        };
        let outcome = run(&check, &f.ctx(true));
        assert!(outcome.ok, "{outcome:?}");
        assert_eq!(outcome.detail, "reports 2026.2.0");
        let outcome = run(&check, &f.ctx(false));
        assert!(!outcome.ok);
        assert!(outcome.detail.contains("no target version"));
        f.version = "2026.3.0".parse().unwrap();
        let outcome = run(&check, &f.ctx(true));
        assert!(!outcome.ok);
        assert_eq!(outcome.detail, "reports 2026.2.0, expected 2026.3.0");
        let all = run_all(&[check.clone(), check], &f.ctx(true));
        assert_eq!(all.len(), 2);
    }

    /// `/version` answers `2026.2.0\n` in plain text.
    fn text_server() -> (
        TestServer,
        impl Fn(Option<&str>, Option<BodyFormat>) -> CheckConfig,
    ) {
        let server = TestServer::start(|_, _| Reply::Text(200, "2026.2.0\n"));
        let url = format!("{}/version", server.url);
        let check = move |pointer: Option<&str>, format| CheckConfig::Version {
            name: None,
            url: url.clone(),
            pointer: pointer.map(str::to_string),
            format,
            headers: Headers::default(),
            within: Duration::from_secs(5),
        };
        (server, check)
    }

    #[test]
    fn version_check_reads_a_plain_text_answer() {
        let f = Fixture::new();
        let (_server, check) = text_server();
        for config in [check(None, None), check(None, Some(BodyFormat::Text))] {
            let outcome = run(&config, &f.ctx(true));
            assert!(outcome.ok, "{outcome:?}");
            assert_eq!(outcome.detail, "reports 2026.2.0");
        }
    }

    #[test]
    fn a_json_check_of_a_text_answer_fails_at_once() {
        let f = Fixture::new();
        let (server, check) = text_server();
        for config in [
            check(Some("/Version"), None),
            check(None, Some(BodyFormat::Json)),
        ] {
            let outcome = run(&config, &f.ctx(true));
            assert!(!outcome.ok, "{outcome:?}");
            assert!(outcome.detail.contains("not JSON"), "{outcome:?}");
            assert!(outcome.detail.contains("plain-text"), "{outcome:?}");
            assert!(outcome.ms < 1000, "took {} ms", outcome.ms);
        }
        let http = CheckConfig::Http {
            name: None,
            url: format!("{}/version", server.url),
            status: 200,
            pointer: Some("/Version".into()),
            equals: None,
            headers: Headers::default(),
            within: Duration::from_secs(5),
        };
        let outcome = run(&http, &f.ctx(true));
        assert!(!outcome.ok && outcome.ms < 1000, "{outcome:?}");
        assert!(outcome.detail.contains("not JSON"), "{outcome:?}");
    }
}
