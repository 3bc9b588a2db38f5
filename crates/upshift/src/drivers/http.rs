//! The one HTTP client: a blocking ureq agent with timeouts, where a non-2xx
//! status is an answer to look at, not an error.
//!
//! Header values that are secrets are resolved here, at the moment of the
//! request, and never appear in errors: errors name the method and URL only.
//! A request that carries one follows redirects only within its origin
//! (see `redirect.rs`).
//!
//! A caller that waits until a deadline (a check's `within`, a service's
//! `start_timeout`) asks through [`Client::until`]: each request then gives
//! up at the deadline, not `http_timeout` later, so deadlines do not add up.
//! A refused connection carries the typed cause [`Refused`], so a caller can
//! tell "nothing listens there" from a slow or failing server ([`refused`]).

use crate::config::{HeaderValue, Headers};
use crate::drivers::redirect;
use crate::support::error::{Context, Error, Result};
use std::time::{Duration, Instant};

/// The least time a request gets, even at its deadline: a zero timeout
/// would not even let it connect.
const LEAST: Duration = Duration::from_millis(1);

/// A blocking HTTP client.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// The same, following no redirect: for requests with a secret header.
    guarded: ureq::Agent,
    /// Each request's own limit (`http_timeout`).
    timeout: Duration,
    /// When set, no request outlives it.
    deadline: Option<Instant>,
}

/// The cause of an error when nothing accepted the connection.
#[derive(Debug, thiserror::Error)]
#[error("connection refused")]
pub struct Refused;

/// Whether `error` is a request whose connection was refused.
pub fn refused(error: &Error) -> bool {
    std::error::Error::source(error).is_some_and(|c| c.is::<Refused>())
}

/// A status and a body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self, what: &str) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context(|| format!("{what}: the answer is not JSON"))
    }

    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Client {
    /// A client whose every request gives up after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let config = |redirects| {
            ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .max_redirects(redirects)
                .build()
        };
        Client {
            agent: config(redirect::MAX as u32).into(),
            guarded: config(0).into(),
            timeout,
            deadline: None,
        }
    }

    /// This client with every request cut off at `deadline` (or sooner,
    /// after its own timeout).
    pub fn until(&self, deadline: Instant) -> Client {
        Client {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// Sends a request; `body` is sent as JSON.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[&Headers],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer> {
        let method_upper = method.to_ascii_uppercase();
        // Later sets override earlier ones (a request's own headers win over
        // its section's), so no header is sent twice.
        let mut merged: std::collections::BTreeMap<String, &HeaderValue> = Default::default();
        for set in headers {
            for (name, value) in set.iter() {
                merged.insert(name.to_ascii_lowercase(), value);
            }
        }
        let secret = merged.values().any(|v| matches!(v, HeaderValue::Secret(_)));
        let mut values = Vec::new();
        for (name, value) in &merged {
            let value = match value {
                HeaderValue::Plain(v) => v.clone(),
                HeaderValue::Secret(s) => {
                    s.resolve(&format!("header {name}"))?.expose().to_string()
                }
            };
            values.push((name.as_str(), value));
        }
        if body.is_some() {
            values.push(("content-type", "application/json".into()));
        }
        let payload = match body {
            Some(b) => serde_json::to_vec(b).context(|| "encoding a request body".into())?,
            None => Vec::new(),
        };
        let agent = if secret { &self.guarded } else { &self.agent };
        let mut url = url.to_string();
        let mut response = None;
        for _ in 0..=redirect::MAX {
            let mut builder = ureq::http::Request::builder()
                .method(method_upper.as_str())
                .uri(&url);
            for (name, value) in &values {
                builder = builder.header(*name, value);
            }
            let mut request = builder
                .body(payload.clone())
                .input_context(|| format!("{method_upper} {url}: not a valid request"))?;
            if let Some(deadline) = self.deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                request = agent
                    .configure_request(request)
                    .timeout_global(Some(left.min(self.timeout).max(LEAST)))
                    .build();
            }
            let answer = agent.run(request).map_err(|e| match is_refused(&e) {
                true => Error::failed(format!("{method_upper} {url}")).caused_by(Refused),
                false => Error::failed(format!("{method_upper} {url}: {}", describe(&e))),
            })?;
            match redirect::target(&answer, &url).filter(|_| secret) {
                Some(next) => {
                    redirect::same_origin(&url, &next, &format!("{method_upper} {url}"))?;
                    url = next;
                }
                None => {
                    response = Some(answer);
                    break;
                }
            }
        }
        let mut response = response.ok_or_else(|| {
            Error::failed(format!(
                "{method_upper} {url}: more than {} redirects",
                redirect::MAX
            ))
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .context(|| format!("{method_upper} {url}: reading the answer"))?;
        Ok(Answer { status, body })
    }

    /// A GET.
    pub fn get(&self, url: &str, headers: &[&Headers]) -> Result<Answer> {
        self.send("GET", url, headers, None)
    }

    /// The underlying agent, for streaming downloads.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }
}

/// A short reason for a transport error, without request details.
pub fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => format!("connection failed ({io})"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection refused".into(),
        other => other.to_string(),
    }
}

/// Whether a transport error is a refused connection.
fn is_refused(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::ConnectionFailed => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::ConnectionRefused,
        _ => false,
    }
}

/// Reads `pointer` (RFC 6901) out of `value`; `""` is the whole document.
pub fn at_pointer<'a>(
    value: &'a serde_json::Value,
    pointer: &str,
    what: &str,
) -> Result<&'a serde_json::Value> {
    value.pointer(pointer).ok_or_else(|| {
        Error::failed(format!(
            "{what}: the answer has nothing at JSON pointer `{pointer}`"
        ))
    })
}
