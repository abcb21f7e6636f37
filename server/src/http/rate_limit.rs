//! Per-key rate limiting of the REST API, with Nango's headers: every answer carries
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the budget is
//! full again); over the limit the answer is 429 `too_many_requests` with `Retry-After`.
//!
//! The key is who the caller is *once authenticated*: a secret key or a connect session token that
//! exists (checked against the database, remembered for a short while), a public key together with the
//! client's IP address; anything else — no credentials, or a token that does not authenticate — is
//! counted against the client's IP address, so rotating junk tokens buys no fresh budget. Keys are kept
//! only as SHA-256 digests, so no secret sits in the limiter's table. The algorithm is `governor`'s
//! GCRA (a smooth token bucket: the whole budget may be spent in a burst, then it refills evenly).
//!
//! The client's IP address is the TCP peer, unless the peer is one of `LATCHKEY_TRUSTED_PROXIES`:
//! then it is the right-most `X-Forwarded-For` entry that is not a trusted proxy. Behind a reverse
//! proxy that is not listed, every client shares the proxy's budget.
//!
//! The OAuth popup (`/oauth/connect`, `/oauth/callback`) and the WebSocket result channel have a
//! limiter of their own, per IP address ([`KeyMode::Ip`]).
//!
//! Configuration: `LATCHKEY_RATE_LIMIT_PER_MINUTE` (default 200, Nango's default; `0` turns limiting
//! off), read once into [`crate::Config`] by [`crate::config::rate_limit_per_minute`].

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
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a token that authenticated is trusted by the limiter without a new database lookup.
const VERIFIED_FOR: Duration = Duration::from_secs(30);

/// Forget keys idle long enough to be full again once the table holds this many.
const SWEEP_ABOVE: usize = 10_000;

type Keyed = RateLimiter<
    [u8; 32],
    DefaultKeyedStateStore<[u8; 32]>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// How a limiter identifies callers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// The authenticated caller (REST API), else the IP address.
    Caller,
    /// The client's IP address only (the OAuth popup).
    Ip,
}

/// The limiter shared by every request of one server.
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<Keyed>,
    per_minute: u32,
    mode: KeyMode,
    app: Option<crate::AppState>,
    /// Digests of tokens that authenticated recently, with when that was checked.
    verified: Arc<Mutex<HashMap<[u8; 32], Instant>>>,
}

impl Limiter {
    pub fn per_minute(n: NonZeroU32) -> Self {
        Self {
            inner: Arc::new(
                RateLimiter::keyed(Quota::per_minute(n))
                    .with_middleware::<StateInformationMiddleware>(),
            ),
            per_minute: n.get(),
            mode: KeyMode::Caller,
            app: None,
            verified: Default::default(),
        }
    }

    /// The limiter the configuration asks for ([`crate::Config::rate_limit_per_minute`]), if any.
    pub fn configured(app: &crate::AppState, mode: KeyMode) -> Option<Self> {
        app.config.rate_limit_per_minute.map(|n| Self {
            mode,
            app: Some(app.clone()),
            ..Self::per_minute(n)
        })
    }

    /// Whether `token` (a secret key or a connect session token) authenticates.
    async fn authenticates(&self, token: &str) -> bool {
        use sha2::{Digest, Sha256};
        let Some(app) = &self.app else { return false };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let fresh = {
            let verified = self.verified.lock().expect("limiter lock");
            verified
                .get(&digest)
                .is_some_and(|at| at.elapsed() < VERIFIED_FOR)
        };
        if fresh {
            return true;
        }
        let ok = if super::extract::is_session_token(token) {
            matches!(
                crate::sessions::find(&app.store, token, app.clock.now_unix()).await,
                Ok(Some(_))
            )
        } else if crate::environment::is_uuid_v4(token) {
            let hash = crate::crypto::sha256_hex(token);
            matches!(
                app.store.environment_by_secret_hash(&hash).await,
                Ok(Some(_))
            )
        } else {
            false
        };
        if ok {
            let mut verified = self.verified.lock().expect("limiter lock");
            if verified.len() > SWEEP_ABOVE {
                verified.retain(|_, at| at.elapsed() < VERIFIED_FOR);
            }
            verified.insert(digest, Instant::now());
        }
        ok
    }

    /// Seconds until `remaining` is back to the full budget (one cell refills every 60/limit s).
    fn reset_secs(&self, remaining: u32) -> u64 {
        let used = u64::from(self.per_minute.saturating_sub(remaining));
        (used * 60).div_ceil(u64::from(self.per_minute))
    }
}

/// The client's address: the TCP peer, or behind a trusted proxy the right-most `X-Forwarded-For`
/// entry that is not itself a trusted proxy.
pub fn client_ip(req: &Request, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .unwrap_or(peer),
    )
}

/// What the limiter needs of a request, copied out of it (a borrowed request held across the
/// database lookup would make the middleware's future not `Send`).
struct CallerParts {
    token: Option<(&'static str, String)>,
    public_key: Option<(&'static str, String)>,
    ip: String,
}

fn caller_parts(limiter: &Limiter, req: &Request) -> CallerParts {
    let trusted = limiter
        .app
        .as_ref()
        .map(|a| a.config.trusted_proxies.as_slice())
        .unwrap_or_default();
    let ip = client_ip(req, trusted)
        .map(|ip| format!("ip:{ip}"))
        .unwrap_or_else(|| "anonymous".into());
    if limiter.mode == KeyMode::Ip {
        return CallerParts {
            token: None,
            public_key: None,
            ip,
        };
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| ("bearer", t.to_string()));
    let query = |name: &'static str| {
        url::form_urlencoded::parse(req.uri().query()?.as_bytes())
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| (name, v.into_owned()))
    };
    CallerParts {
        token: bearer.or_else(|| query("connect_session_token")),
        public_key: query("public_key"),
        ip,
    }
}

/// What identifies the caller, hashed.
async fn caller_key(limiter: &Limiter, parts: CallerParts) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let CallerParts {
        token,
        public_key,
        ip,
    } = parts;
    let key = match (token, public_key) {
        (Some((kind, token)), _) if limiter.authenticates(&token).await => {
            format!("{kind}:{token}")
        }
        (Some(_), _) => ip,
        // A public key is public: one page's visitors must not exhaust each other's budget, nor one
        // client get a fresh budget per key it names.
        (None, Some((_, public_key))) => format!("public_key:{public_key}|{ip}"),
        (None, None) => ip,
    };
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
    let parts = caller_parts(&limiter, &req);
    let key = caller_key(&limiter, parts).await;
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
            crate::metrics::rate_limited();
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

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut req = Request::new(axum::body::Body::empty());
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 4000)));
        if let Some(f) = forwarded {
            req.headers_mut()
                .insert("x-forwarded-for", HeaderValue::from_str(f).unwrap());
        }
        req
    }

    #[test]
    fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let ip = |peer, fwd| {
            client_ip(&request(peer, fwd), &[proxy])
                .unwrap()
                .to_string()
        };
        // A client cannot pick its own bucket by sending the header directly.
        assert_eq!(ip("203.0.113.9", Some("198.51.100.1")), "203.0.113.9");
        // Behind the proxy: the right-most address the proxy did not add itself.
        assert_eq!(
            ip("10.0.0.5", Some("198.51.100.1, 203.0.113.7")),
            "203.0.113.7"
        );
        assert_eq!(ip("10.0.0.5", Some("203.0.113.7, 10.0.0.5")), "203.0.113.7");
        assert_eq!(ip("10.0.0.5", None), "10.0.0.5");
        // Without trusted proxies the peer is the client.
        assert_eq!(
            client_ip(&request("10.0.0.5", Some("1.2.3.4")), &[])
                .unwrap()
                .to_string(),
            "10.0.0.5"
        );
    }

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
