//! Redirects of requests that carry a secret header.
//!
//! ureq keeps custom headers (an `X-Api-Key`) across redirects, so after a
//! 307 to another host the key went there. A request with a secret header
//! is therefore sent without automatic redirects, and the HTTP client
//! follows an answer's `Location` itself only within the same origin
//! (scheme, host and port, as browsers define it); a redirect to another
//! origin is an error that names both, before anything is sent there.
//! Requests without secrets follow redirects as usual (a release download
//! moving to a CDN).

use crate::support::error::{Error, Result};

/// Redirects followed for one request.
pub const MAX: usize = 10;

/// Where a redirect answer to `from` points (its `Location`, resolved
/// against `from`); `None` for any other answer.
pub fn target<B>(response: &ureq::http::Response<B>, from: &str) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get("location")?.to_str().ok()?.trim();
    let base: ureq::http::Uri = from.parse().ok()?;
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    Some(if location.contains("://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{scheme}://{authority}{dir}/{location}")
    })
}

/// Refuses a redirect from `from` to `to` that leaves `from`'s origin;
/// `what` names the request (`GET <url>`).
pub fn same_origin(from: &str, to: &str, what: &str) -> Result<()> {
    if origin(from).is_some() && origin(from) == origin(to) {
        return Ok(());
    }
    Err(Error::failed(format!(
        "{what}: the server redirected to {}, another origin; upshift does not send secret headers there, so the request was not followed",
        origin_text(to)
    ))
    .hint(format!(
        "point the URL in the instance file at the server that answers it (the redirect asked for {to}) if you trust it"
    )))
}

/// Scheme, host and port (the scheme's default when none is written).
fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

/// `scheme://host:port` of `url`, for messages.
fn origin_text(url: &str) -> String {
    match origin(url) {
        Some((scheme, host, port)) => format!("{scheme}://{host}:{port}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert!(same_origin("http://a:80/x", "http://A/y", "GET").is_ok());
        assert!(same_origin("https://a/x", "https://a:443/z", "GET").is_ok());
        for other in ["https://a:80/x", "http://b/x", "http://a:81/x", "nonsense"] {
            let err = same_origin("http://a/x", other, "GET http://a/x").unwrap_err();
            assert!(err.to_string().contains("another origin"), "{err}");
        }
    }

    #[test]
    fn locations_resolve_against_the_request() {
        let answer = |location: &str| {
            ureq::http::Response::builder()
                .status(307)
                .header("location", location)
                .body(())
                .unwrap()
        };
        let from = "http://h:8/api/maintenance";
        for (location, expected) in [
            ("http://o:9/p", "http://o:9/p"),
            ("//o/p", "http://o/p"),
            ("/p", "http://h:8/p"),
            ("q", "http://h:8/api/q"),
        ] {
            assert_eq!(target(&answer(location), from).as_deref(), Some(expected));
        }
        let ok = ureq::http::Response::builder()
            .status(200)
            .body(())
            .unwrap();
        assert_eq!(target(&ok, from), None);
    }
}
