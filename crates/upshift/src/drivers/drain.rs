//! Draining: waiting, with maintenance on, until the server's running work
//! (tasks, jobs, requests) reaches zero, so the stop interrupts nothing.
//!
//! The count is a number at a JSON pointer in a GET answer. A failed request
//! or a non-2xx answer is retried until the deadline (a busy server may
//! answer slowly), and the last failure is what the error reports. A 2xx
//! answer without a number at the pointer fails at once: that is a wrong
//! instance file, and waiting ten minutes would not fix it.

use crate::config::DrainConfig;
use crate::drivers::http;
use crate::support::error::{Error, Result};
use std::time::{Duration, Instant};

/// Polls until the count is 0; returns how long that took. `on_poll` gets
/// every count read, for progress.
pub fn wait(cfg: &DrainConfig, client: &http::Client, on_poll: &dyn Fn(u64)) -> Result<Duration> {
    let began = Instant::now();
    let deadline = began + cfg.timeout;
    let after = humantime::format_duration(cfg.timeout);
    loop {
        let last = match poll(cfg, client)? {
            Ok(0) => {
                on_poll(0);
                return Ok(began.elapsed());
            }
            Ok(count) => {
                on_poll(count);
                Error::failed(format!("drain: {count} still running after {after}"))
                    .hint("raise drain.timeout, or cancel the tasks")
            }
            Err(e) => Error::failed(format!("drain: no count after {after}"))
                .caused_by(e)
                .hint("check drain.url, and that the server is up"),
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(last);
        }
        std::thread::sleep(cfg.interval.min(deadline - now));
    }
}

/// One poll: the count, or a failure worth retrying (inner); a wrong
/// answer shape fails (outer).
fn poll(cfg: &DrainConfig, client: &http::Client) -> Result<Result<u64, Error>> {
    let what = format!("drain: GET {}", cfg.url);
    let answer = match client.get(&cfg.url, &[&cfg.headers]) {
        Ok(a) if a.ok() => a,
        Ok(a) => return Ok(Err(Error::failed(format!("{what} answered {}", a.status)))),
        Err(e) => return Ok(Err(e)),
    };
    let json = answer.json(&what)?;
    let value = http::at_pointer(&json, &cfg.pointer, &what)?;
    match value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| *f >= 0.0)
            .map(|f| f.ceil() as u64)
    }) {
        Some(count) => Ok(Ok(count)),
        None => Err(Error::failed(format!(
            "{what}: expected a count at `{}`, found {value}",
            cfg.pointer
        ))
        .hint("drain.pointer must point at a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::service::test_http::{Reply, TestServer};
    use serde_json::json;
    use std::cell::RefCell;

    fn config(url: &str, timeout_ms: u64) -> DrainConfig {
        DrainConfig {
            url: format!("{url}/api/tasks/summary"),
            pointer: "/Running".into(),
            headers: Default::default(),
            timeout: Duration::from_millis(timeout_ms),
            interval: Duration::from_millis(10),
        }
    }

    fn client() -> http::Client {
        http::Client::new(Duration::from_millis(300))
    }

    #[test]
    fn waits_until_nothing_runs() {
        let server = TestServer::start(|_, n| match n {
            0 => Reply::Json(503, json!({})),
            n => Reply::Json(200, json!({ "Running": 4 - n })),
        });
        let seen = RefCell::new(Vec::new());
        wait(&config(&server.url, 5000), &client(), &|c| {
            seen.borrow_mut().push(c)
        })
        .unwrap();
        assert_eq!(*seen.borrow(), vec![3, 2, 1, 0]);
        assert_eq!(server.requests().len(), 5);
    }

    #[test]
    fn times_out_with_the_count() {
        let server = TestServer::start(|_, _| Reply::Json(200, json!({ "Running": 3 })));
        let err = wait(&config(&server.url, 300), &client(), &|_| {}).unwrap_err();
        assert_eq!(err.to_string(), "drain: 3 still running after 300ms");
        assert_eq!(
            err.hint_text(),
            Some("raise drain.timeout, or cancel the tasks")
        );
        assert!(server.requests().len() > 2, "it did not poll");
    }

    #[test]
    fn reports_the_last_transport_error() {
        let server = TestServer::start(|_, _| Reply::Hang);
        let err = wait(&config(&server.url, 500), &client(), &|_| {}).unwrap_err();
        assert!(err.chain().contains("timed out"), "{}", err.chain());
    }

    #[test]
    fn a_pointer_at_no_number_fails_at_once() {
        let server = TestServer::start(|_, _| Reply::Json(200, json!({ "Running": "many" })));
        let err = wait(&config(&server.url, 60_000), &client(), &|_| {}).unwrap_err();
        assert!(err.to_string().contains("expected a count"), "{err}");
        assert_eq!(server.requests().len(), 1);
    }
}
