//! When a failed upstream attempt is repeated, and after how long.
//!
//! - Up to `Retries` repeats (the caller's header; 0 by default, as Nango).
//! - Idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are repeated on 429, 5xx (or, when the
//!   provider lists `proxy.retry.error_code`, on those instead), on a `proxy.retry.remaining` header
//!   reading `0`, and on network errors. POST and PATCH are repeated only on the statuses the caller
//!   names in `Retry-On` — a repeated POST may create twice — or when the connection could not even
//!   be opened (nothing was sent).
//! - The wait is the provider's hint when it gives one — `proxy.retry.at` (a reset time: epoch
//!   seconds, epoch milliseconds or a date) or `proxy.retry.after` (seconds), then the standard
//!   `Retry-After` (seconds or an HTTP date) — else exponential backoff from 250 ms, doubled per
//!   attempt up to 8 s, with jitter (a random 50–100 % of it) so that callers do not retry in step.
//! - All waits of one call together stay under a bound (`LATCHKEY_PROXY_MAX_RETRY_WAIT_SECS`): a
//!   provider asking to come back in an hour gets its 429 passed to the caller instead.
//!
//! Pure: the clock and the random source are parameters, so the decisions are unit-tested.

use axum::http::{HeaderMap, Method, StatusCode};
use std::time::Duration;

const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(8);

/// The provider's `proxy.retry` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryHints {
    /// Headers holding the time the limit resets.
    pub at: Vec<String>,
    /// Headers holding the seconds to wait.
    pub after: Vec<String>,
    /// A header that reads `0` when the budget is spent.
    pub remaining: Option<String>,
    /// Statuses to retry instead of 429/5xx: `403`, `5xx`, `500-502`.
    pub error_codes: Option<Vec<String>>,
}

fn one_or_many(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::String(s)) => vec![s.to_ascii_lowercase()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_ascii_lowercase))
            .collect(),
        _ => Vec::new(),
    }
}

impl RetryHints {
    pub fn from_json(v: &serde_json::Value) -> Self {
        Self {
            at: one_or_many(v.get("at")),
            after: one_or_many(v.get("after")),
            remaining: v
                .get("remaining")
                .and_then(|r| r.as_str())
                .map(str::to_ascii_lowercase),
            error_codes: v.get("error_code").and_then(|c| c.as_array()).map(|a| {
                a.iter()
                    .map(crate::catalog::param_string)
                    .collect::<Vec<_>>()
            }),
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    /// The upstream answered.
    Answered(StatusCode, &'a HeaderMap),
    /// No connection could be made (nothing was sent).
    NotConnected,
    /// The exchange broke after the request may have been sent (reset, timeout).
    Broken,
}

/// The retry rules of one proxied call.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub retry_on: Vec<u16>,
    pub idempotent: bool,
    pub hints: RetryHints,
    pub max_total_wait: Duration,
}

/// Whether repeating a request with this method is safe (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

impl RetryPolicy {
    /// How long to wait before the next attempt, or `None` to stop here. `done` is the number of
    /// retries already made, `waited` their total wait, `now_unix` the clock (seconds), `jitter` a
    /// number in `[0, 1)`.
    pub fn next_wait(
        &self,
        attempt: Attempt<'_>,
        done: u32,
        waited: Duration,
        now_unix: f64,
        jitter: f64,
    ) -> Option<Duration> {
        if done >= self.max_retries {
            return None;
        }
        let retryable = match attempt {
            Attempt::NotConnected => true,
            Attempt::Broken => self.idempotent,
            Attempt::Answered(status, headers) => {
                self.retry_on.contains(&status.as_u16())
                    || (self.idempotent && self.status_is_retryable(status, headers))
            }
        };
        if !retryable {
            return None;
        }
        let hinted = match attempt {
            Attempt::Answered(_, headers) => self.hinted_wait(headers, now_unix),
            _ => None,
        };
        let wait = hinted.unwrap_or_else(|| {
            let full = BACKOFF_BASE
                .saturating_mul(1u32 << done.min(16))
                .min(BACKOFF_CAP);
            full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
        });
        (waited + wait <= self.max_total_wait).then_some(wait)
    }

    fn status_is_retryable(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        let by_code = match &self.hints.error_codes {
            Some(rules) => rules.iter().any(|r| status_matches(status.as_u16(), r)),
            None => status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
        };
        let spent = self
            .hints
            .remaining
            .as_deref()
            .and_then(|h| headers.get(h))
            .is_some_and(|v| v.as_bytes().trim_ascii() == b"0");
        by_code || spent
    }

    fn hinted_wait(&self, headers: &HeaderMap, now_unix: f64) -> Option<Duration> {
        let value = |names: &[String]| {
            names
                .iter()
                .find_map(|n| headers.get(n.as_str())?.to_str().ok().map(str::trim))
        };
        if let Some(at) = value(&self.hints.at) {
            if let Some(w) = wait_until(at, now_unix) {
                return Some(w);
            }
        }
        if let Some(after) = value(&self.hints.after) {
            if let Some(w) = seconds(after) {
                return Some(w);
            }
        }
        let retry_after = headers
            .get(axum::http::header::RETRY_AFTER)?
            .to_str()
            .ok()?;
        seconds(retry_after).or_else(|| wait_until(retry_after, now_unix))
    }
}

fn seconds(v: &str) -> Option<Duration> {
    let s: f64 = v.trim().parse().ok()?;
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(86_400.0)))
}

/// The wait until a reset time: epoch seconds, epoch milliseconds (Nango: a value that, read as
/// milliseconds, is after 1971) or an HTTP/RFC 3339 date. `None` when it is not in the future.
fn wait_until(v: &str, now_unix: f64) -> Option<Duration> {
    let v = v.trim();
    let at = match v.parse::<f64>() {
        Ok(n) if n > 31_536_000_000.0 => n / 1000.0,
        Ok(n) => n,
        Err(_) => chrono::DateTime::parse_from_rfc2822(v)
            .or_else(|_| chrono::DateTime::parse_from_rfc3339(v))
            .ok()?
            .timestamp() as f64,
    };
    let wait = at - now_unix;
    (wait > 0.0).then(|| Duration::from_secs_f64(wait.min(86_400.0)))
}

/// Nango's `error_code` rules: `403`, `5xx`, `500-502`.
fn status_matches(status: u16, rule: &str) -> bool {
    let rule = rule.trim();
    if let Ok(n) = rule.parse::<u16>() {
        return status == n;
    }
    if let Some(d) = rule
        .strip_suffix("xx")
        .or_else(|| rule.strip_suffix("XX"))
        .and_then(|d| d.parse::<u16>().ok())
    {
        return status / 100 == d;
    }
    if let Some((a, b)) = rule.split_once('-') {
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            return (a..=b).contains(&status);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn policy(method: Method) -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            retry_on: vec![],
            idempotent: is_idempotent(&method),
            hints: RetryHints::default(),
            max_total_wait: Duration::from_secs(30),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const NOW: f64 = 1_700_000_000.0;

    #[test]
    fn idempotent_requests_retry_on_429_and_5xx_with_growing_backoff() {
        let p = policy(Method::GET);
        let h = HeaderMap::new();
        let w0 = p
            .next_wait(
                Attempt::Answered(StatusCode::SERVICE_UNAVAILABLE, &h),
                0,
                Duration::ZERO,
                NOW,
                0.999,
            )
            .unwrap();
        let w2 = p
            .next_wait(
                Attempt::Answered(StatusCode::TOO_MANY_REQUESTS, &h),
                2,
                Duration::ZERO,
                NOW,
                0.999,
            )
            .unwrap();
        assert!(w0 <= Duration::from_millis(250) && w0 >= Duration::from_millis(125));
        assert!(w2 > Duration::from_millis(900) && w2 <= Duration::from_secs(1));
        assert!(p
            .next_wait(
                Attempt::Answered(StatusCode::NOT_FOUND, &h),
                0,
                Duration::ZERO,
                NOW,
                0.5
            )
            .is_none());
        assert!(
            p.next_wait(
                Attempt::Answered(StatusCode::BAD_GATEWAY, &h),
                3,
                Duration::ZERO,
                NOW,
                0.5
            )
            .is_none(),
            "Retries is the limit"
        );
        assert!(p
            .next_wait(Attempt::Broken, 0, Duration::ZERO, NOW, 0.5)
            .is_some());
    }

    #[test]
    fn post_retries_only_what_the_caller_opted_into() {
        let mut p = policy(Method::POST);
        let h = HeaderMap::new();
        let s503 = Attempt::Answered(StatusCode::SERVICE_UNAVAILABLE, &h);
        assert!(p.next_wait(s503, 0, Duration::ZERO, NOW, 0.5).is_none());
        assert!(p
            .next_wait(Attempt::Broken, 0, Duration::ZERO, NOW, 0.5)
            .is_none());
        assert!(
            p.next_wait(Attempt::NotConnected, 0, Duration::ZERO, NOW, 0.5)
                .is_some(),
            "nothing was sent"
        );
        p.retry_on = vec![503];
        assert!(p.next_wait(s503, 0, Duration::ZERO, NOW, 0.5).is_some());
    }

    #[test]
    fn retry_after_and_provider_hints_set_the_wait_within_the_bound() {
        let p = policy(Method::GET);
        let h = headers(&[("retry-after", "2")]);
        let s429 = Attempt::Answered(StatusCode::TOO_MANY_REQUESTS, &h);
        assert_eq!(
            p.next_wait(s429, 0, Duration::ZERO, NOW, 0.5),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.next_wait(s429, 1, Duration::from_secs(29), NOW, 0.5),
            None,
            "the total wait is bounded"
        );
        let date = headers(&[("retry-after", "Tue, 14 Nov 2023 22:13:25 GMT")]);
        assert_eq!(
            p.next_wait(
                Attempt::Answered(StatusCode::TOO_MANY_REQUESTS, &date),
                0,
                Duration::ZERO,
                1_699_999_995.0 + 0.0,
                0.5
            ),
            Some(Duration::from_secs(10))
        );

        let mut github = policy(Method::GET);
        github.hints = RetryHints::from_json(&serde_json::json!({"at": "X-RateLimit-Reset"}));
        let reset = headers(&[("x-ratelimit-reset", "1700000005")]);
        assert_eq!(
            github.next_wait(
                Attempt::Answered(StatusCode::TOO_MANY_REQUESTS, &reset),
                0,
                Duration::ZERO,
                NOW,
                0.5
            ),
            Some(Duration::from_secs(5))
        );
        let ms = headers(&[("x-ratelimit-reset", "1700000003000")]);
        assert_eq!(
            github.next_wait(
                Attempt::Answered(StatusCode::TOO_MANY_REQUESTS, &ms),
                0,
                Duration::ZERO,
                NOW,
                0.5
            ),
            Some(Duration::from_secs(3))
        );
        let mut after = policy(Method::GET);
        after.hints =
            RetryHints::from_json(&serde_json::json!({"after": ["x-ratelimit-retry-after"]}));
        let h = headers(&[("x-ratelimit-retry-after", "1.5")]);
        assert_eq!(
            after.next_wait(
                Attempt::Answered(StatusCode::TOO_MANY_REQUESTS, &h),
                0,
                Duration::ZERO,
                NOW,
                0.5
            ),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn provider_error_codes_and_remaining_replace_the_defaults() {
        let mut p = policy(Method::GET);
        p.hints = RetryHints::from_json(
            &serde_json::json!({"error_code": ["403", "52x", "500-502"], "remaining": "X-Left"}),
        );
        let h = HeaderMap::new();
        let wait = |s: u16, h: &HeaderMap| {
            p.next_wait(
                Attempt::Answered(StatusCode::from_u16(s).unwrap(), h),
                0,
                Duration::ZERO,
                NOW,
                0.5,
            )
        };
        assert!(wait(403, &h).is_some());
        assert!(wait(501, &h).is_some());
        assert!(wait(503, &h).is_none(), "not in the provider's list");
        assert!(wait(429, &h).is_none());
        assert!(wait(400, &headers(&[("x-left", "0")])).is_some());
        assert!(status_matches(521, "5xx"));
    }
}
