//! The proxy's control headers, as `@nangohq/node` 0.71 sends them (`Nango.proxy()`):
//! `Connection-Id`, `Provider-Config-Key` (required), `Base-Url-Override` (empty = none), `Retries`,
//! `Retry-On` (comma-separated status codes), `Decompress`, `Forward-Headers-On-Redirect`,
//! `Nango-Activity-Log-Id`, and `Nango-Proxy-<name>` headers that reach the provider as `<name>`.
//!
//! Parsing only: nothing here looks at the database or the catalog. A malformed header is reported as
//! Nango does, `400 invalid_headers` with one issue per header.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use latchkey_protocol::ValidationIssue;

/// Prefix of the caller's headers that are forwarded to the provider (without it).
pub const FORWARD_PREFIX: &str = "nango-proxy-";

/// More retries than this are clamped: with exponential backoff they would only wait longer.
pub const MAX_RETRIES: u32 = 10;

/// What the caller asked of one proxied call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyOptions {
    pub connection_id: String,
    pub provider_config_key: String,
    /// `Base-Url-Override`, when not empty: replaces the provider's `proxy.base_url`.
    pub base_url_override: Option<url::Url>,
    /// `Retries`: how many times a failed attempt may be repeated (0 = none).
    pub retries: u32,
    /// `Retry-On`: extra statuses to retry, for any method (the opt-in for non-idempotent ones).
    pub retry_on: Vec<u16>,
    /// `Decompress: true`. Accepted for compatibility; the body is passed through with its
    /// `Content-Encoding`, which the caller's HTTP client decodes (see the module doc of `proxy`).
    pub decompress: bool,
    /// `Nango-Proxy-*` headers, prefix removed, in the order received.
    pub forwarded: Vec<(HeaderName, HeaderValue)>,
}

fn issue(header: &str, code: &str, message: impl Into<String>) -> ValidationIssue {
    ValidationIssue {
        code: code.into(),
        message: message.into(),
        path: vec![header.into()],
    }
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ValidationIssue> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| issue(name, "invalid_string", "Not valid text")),
    }
}

/// Reads the control headers; every problem is reported at once.
pub fn parse(headers: &HeaderMap) -> Result<ProxyOptions, Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    let mut required = |name: &str| match text(headers, name) {
        Ok(Some(v)) if !v.is_empty() && v.len() <= 255 => v.to_string(),
        Ok(Some(v)) if v.len() > 255 => {
            issues.push(issue(name, "too_big", "At most 255 characters"));
            String::new()
        }
        Ok(_) => {
            issues.push(issue(
                name,
                "invalid_type",
                "Invalid input: expected string, received undefined",
            ));
            String::new()
        }
        Err(e) => {
            issues.push(e);
            String::new()
        }
    };
    let provider_config_key = required("provider-config-key");
    let connection_id = required("connection-id");

    let base_url_override = match text(headers, "base-url-override") {
        Ok(None) | Ok(Some("")) => None,
        Ok(Some(v)) => match url::Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                issues.push(issue(
                    "base-url-override",
                    "invalid_format",
                    "Invalid URL: an http(s) URL is required",
                ));
                None
            }
        },
        Err(e) => {
            issues.push(e);
            None
        }
    };

    let retries = match text(headers, "retries") {
        Ok(None) | Ok(Some("")) => 0,
        Ok(Some(v)) => match v.parse::<u32>() {
            Ok(n) => n.min(MAX_RETRIES),
            Err(_) => {
                issues.push(issue(
                    "retries",
                    "invalid_type",
                    "Invalid input: expected a non-negative integer",
                ));
                0
            }
        },
        Err(e) => {
            issues.push(e);
            0
        }
    };

    let retry_on = match text(headers, "retry-on") {
        Ok(None) | Ok(Some("")) => Vec::new(),
        Ok(Some(v)) => match v
            .split(',')
            .map(|s| s.trim().parse::<u16>())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(codes) => codes,
            Err(_) => {
                issues.push(issue(
                    "retry-on",
                    "invalid_format",
                    "Invalid input: comma-separated status codes",
                ));
                Vec::new()
            }
        },
        Err(e) => {
            issues.push(e);
            Vec::new()
        }
    };

    let decompress = match text(headers, "decompress") {
        Ok(None) | Ok(Some("false")) => false,
        Ok(Some("true")) => true,
        Ok(Some(_)) => {
            issues.push(issue(
                "decompress",
                "invalid_value",
                "Invalid option: expected one of \"true\"|\"false\"",
            ));
            false
        }
        Err(e) => {
            issues.push(e);
            false
        }
    };

    let forwarded = headers
        .iter()
        .filter_map(|(name, value)| {
            let stripped = name.as_str().strip_prefix(FORWARD_PREFIX)?;
            let name = HeaderName::from_bytes(stripped.as_bytes()).ok()?;
            Some((name, value.clone()))
        })
        .collect();

    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(ProxyOptions {
        connection_id,
        provider_config_key,
        base_url_override,
        retries,
        retry_on,
        decompress,
        forwarded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn what_nango_node_sends_is_understood() {
        let o = parse(&headers(&[
            ("Connection-Id", "c1"),
            ("Provider-Config-Key", "github"),
            ("Base-Url-Override", ""),
            ("Nango-Activity-Log-Id", ""),
            ("Retries", "3"),
            ("Retry-On", "409,423"),
            ("Decompress", "true"),
            ("Nango-Proxy-X-Custom", "v"),
            ("Nango-Proxy-Content-Type", "application/xml"),
        ]))
        .unwrap();
        assert_eq!(o.connection_id, "c1");
        assert_eq!(o.provider_config_key, "github");
        assert_eq!(o.base_url_override, None);
        assert_eq!(o.retries, 3);
        assert_eq!(o.retry_on, vec![409, 423]);
        assert!(o.decompress);
        let names: Vec<_> = o.forwarded.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x-custom", "content-type"]);
    }

    #[test]
    fn missing_and_malformed_headers_are_all_reported() {
        let issues = parse(&headers(&[
            ("Retries", "many"),
            ("Retry-On", "5xx"),
            ("Base-Url-Override", "ftp://example.com"),
            ("Decompress", "yes"),
        ]))
        .unwrap_err();
        let paths: Vec<_> = issues.iter().map(|i| i.path[0].as_str()).collect();
        assert_eq!(
            paths,
            [
                "provider-config-key",
                "connection-id",
                "base-url-override",
                "retries",
                "retry-on",
                "decompress"
            ]
        );
    }

    #[test]
    fn retries_are_clamped() {
        let o = parse(&headers(&[
            ("Connection-Id", "c"),
            ("Provider-Config-Key", "k"),
            ("Retries", "1000"),
        ]))
        .unwrap();
        assert_eq!(o.retries, MAX_RETRIES);
    }
}
