//! Per-key rate limiting of the REST API, with Nango's headers: every answer carries
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the budget is
//! full again); over the limit the answer is 429 `too_many_requests` with `Retry-After`.
//!
//! The key is what authenticates the call: the bearer token (secret key or session token), else the
//! `connect_session_token` / `public_key` query parameter, else the client's IP address. Keys are kept
//! only as SHA-256 digests, so no secret sits in the limiter's table. The algorithm is `governor`'s
//! GCRA (a smooth token bucket: the whole budget may be spent in a burst, then it refills evenly).
//!
//! Configuration: `LATCHKEY_RATE_LIMIT_PER_MINUTE` (default 200, Nango's default; `0` turns limiting
//! off), read by [`per_minute_from_env`].

use super::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use latchkey_protocol::ErrorCode;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Nango's `DEFAULT_RATE_LIMIT_PER_MIN`.
pub const DEFAULT_PER_MINUTE: u32 = 200;

/// The environment variable that sets the limit.
pub const ENV_VAR: &str = "LATCHKEY_RATE_LIMIT_PER_MINUTE";

/// Forget keys idle long enough to be full again once the table holds this many.
const SWEEP_ABOVE: usize = 10_000;

type Keyed = RateLimiter<
    [u8; 32],
    DefaultKeyedStateStore<[u8; 32]>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// The limiter shared by every request of one server.
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<Keyed>,
    per_minute: u32,
}

/// `LATCHKEY_RATE_LIMIT_PER_MINUTE`, or the default; `None` when set to `0` (no limit). An unparsable
/// value falls back to the default with a warning rather than running unlimited by accident.
pub fn per_minute_from_env() -> Option<NonZeroU32> {
    match std::env::var(ENV_VAR) {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<u32>() {
            Ok(n) => NonZeroU32::new(n),
            Err(_) => {
                tracing::warn!(
                    "{ENV_VAR} is not a number; using the default of {DEFAULT_PER_MINUTE}/min"
                );
                NonZeroU32::new(DEFAULT_PER_MINUTE)
            }
        },
        _ => NonZeroU32::new(DEFAULT_PER_MINUTE),
    }
}

impl Limiter {
    pub fn per_minute(n: NonZeroU32) -> Self {
        Self {
            inner: Arc::new(
                RateLimiter::keyed(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>(),
            ),
            per_minute: n.get(),
        }
    }

    /// The limiter configured by the environment, if limiting is on.
    pub fn from_env() -> Option<Self> {
        per_minute_from_env().map(Self::per_minute)
    }

    /// Seconds until `remaining` is back to the full budget (one cell refills every 60/limit s).
    fn reset_secs(&self, remaining: u32) -> u64 {
        let used = u64::from(self.per_minute.saturating_sub(remaining));
        (used * 60).div_ceil(u64::from(self.per_minute))
    }
}

/// What identifies the caller, hashed.
fn caller_key(req: &Request) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| format!("bearer:{}", t.trim()));
    let query = || {
        url::form_urlencoded::parse(req.uri().query()?.as_bytes())
            .find(|(k, v)| (k == "connect_session_token" || k == "public_key") && !v.is_empty())
            .map(|(k, v)| format!("{k}:{v}"))
    };
    let ip = || {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| format!("ip:{}", c.0.ip()))
    };
    let key = bearer
        .or_else(query)
        .or_else(ip)
        .unwrap_or_else(|| "anonymous".into());
    Sha256::digest(key.as_bytes()).into()
}

/// Sets a header unless the handler did: a provider's own `X-RateLimit-*` headers, passed on by
/// `/proxy/*`, are what the caller needs to pace its calls to that provider.
fn set(res: &mut Response, name: &'static str, value: u64) {
    res.headers_mut()
        .entry(name)
        .or_insert(HeaderValue::from(value));
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn limit(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let key = caller_key(&req);
    if limiter.inner.len() > SWEEP_ABOVE {
        limiter.inner.retain_recent();
    }
    let limit = u64::from(limiter.per_minute);
    match limiter.inner.check_key(&key) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            let mut res = next.run(req).await;
            set(&mut res, "x-ratelimit-limit", limit);
            set(&mut res, "x-ratelimit-remaining", u64::from(remaining));
            set(&mut res, "x-ratelimit-reset", limiter.reset_secs(remaining));
            res
        }
        Err(not_until) => {
            let wait = not_until
                .wait_time_from(limiter.inner.clock().now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64;
            let mut res = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                format!("Too many requests: the limit is {limit} per minute. Retry in {wait} s."),
            )
            .into_response();
            set(&mut res, "x-ratelimit-limit", limit);
            set(&mut res, "x-ratelimit-remaining", 0);
            set(&mut res, "x-ratelimit-reset", wait);
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_is_the_time_to_refill_what_was_used() {
        let l = Limiter::per_minute(NonZeroU32::new(60).unwrap());
        assert_eq!(l.reset_secs(60), 0);
        assert_eq!(l.reset_secs(59), 1);
        assert_eq!(l.reset_secs(0), 60);
        let l = Limiter::per_minute(NonZeroU32::new(200).unwrap());
        assert_eq!(l.reset_secs(199), 1);
    }
}
