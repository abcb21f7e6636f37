//! Dashboard sign-in (issue 17): administrator accounts with argon2id-hashed passwords, a session
//! cookie, CSRF defence, rate limits and lockout.
//!
//! - **Cookie.** `latchkey_dashboard=<256-bit token>; HttpOnly; Secure; SameSite=Strict;
//!   Path=/dashboard`: scripts cannot read it, no other site's request carries it, and the REST API
//!   never sees it. The database holds only the token's SHA-256. Sessions last [`SESSION_HOURS`].
//! - **CSRF.** Every write (sign-in included: no "login CSRF") is refused when the browser says it
//!   comes from elsewhere (`Sec-Fetch-Site` other than `same-origin`, or an `Origin` that is not this
//!   server's); writes of a session must also carry its CSRF token in
//!   [`CSRF_HEADER`](latchkey_protocol::dashboard::CSRF_HEADER), which only a page of ours can read
//!   (from `GET /dashboard/api/session`). SameSite=Strict alone would leave same-site subdomains in.
//! - **Guessing.** Sign-ins are limited per client address and per account (token buckets); after
//!   [`MAX_FAILURES`] wrong passwords in a row an account is locked for [`LOCK_MINUTES`], in the
//!   database (every replica sees it). Unknown accounts cost the same argon2 verification as known ones.
//! - **Sign out everywhere** bumps the account's session generation: every older session is refused.

use crate::http::error::ApiError;
use crate::storage::dashboard::SessionRow;
use crate::{crypto, AppState};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use latchkey_protocol::dashboard::CSRF_HEADER;
use latchkey_protocol::ErrorCode;
use std::num::NonZeroU32;
use std::sync::OnceLock;

pub const COOKIE: &str = "latchkey_dashboard";
pub const SESSION_HOURS: i64 = 12;
/// Wrong passwords in a row before an account is locked.
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;
/// Sign-in attempts per minute from one client address, and for one account.
const PER_IP_PER_MINUTE: u32 = 20;
const PER_ACCOUNT_PER_MINUTE: u32 = 10;

/// argon2id with the crate's defaults (OWASP's recommended parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("could not hash the password: {e}"))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash nobody's password matches: verified against for unknown accounts (same cost).
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&crypto::random_hex_256()).expect("argon2 hashes"))
}

/// The sign-in token buckets (process-wide; the lockout itself is in the database).
pub struct Limits {
    per_ip: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
}

impl Limits {
    /// One set per server (each router built gets its own, so tests' servers do not share).
    pub fn new() -> std::sync::Arc<Self> {
        let quota = |n| Quota::per_minute(NonZeroU32::new(n).expect("non-zero"));
        std::sync::Arc::new(Limits {
            per_ip: RateLimiter::keyed(quota(PER_IP_PER_MINUTE)),
            per_account: RateLimiter::keyed(quota(PER_ACCOUNT_PER_MINUTE)),
        })
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidCredentials,
        message,
    )
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
}

fn too_many(message: String) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyRequests,
        message,
    )
}

/// A new session for a correct email and password; the error says why not (wrong password,
/// locked account, too many attempts) without telling whether the account exists.
pub async fn sign_in(
    app: &AppState,
    limits: &Limits,
    ip: &str,
    email: &str,
    password: &str,
) -> Result<(String, SessionRow), ApiError> {
    let email = email.trim().to_ascii_lowercase();
    if limits.per_ip.check_key(&ip.to_string()).is_err()
        || limits.per_account.check_key(&email).is_err()
    {
        return Err(too_many(
            "Too many sign-in attempts. Wait a minute and try again.".into(),
        ));
    }
    let now = app.clock.now_unix_ms();
    let admin = app.store.admin_by_email(&email).await?;
    if let Some(until) = admin.as_ref().and_then(|a| a.locked_until) {
        if until > now {
            let minutes = (until - now + 59_999) / 60_000;
            return Err(too_many(format!(
                "This account is locked after {MAX_FAILURES} failed sign-ins. Try again in {minutes} minute(s), \
                 or reset its password with `latchkey admin create {email}`."
            )));
        }
    }
    let hash = admin
        .as_ref()
        .map_or(decoy_hash().to_string(), |a| a.password_hash.clone());
    // argon2 takes tens of milliseconds of CPU: off the async workers.
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let admin = match admin {
        Some(admin) if ok => admin,
        Some(admin) => {
            app.store
                .admin_failed(admin.id, MAX_FAILURES, now + LOCK_MINUTES * 60_000)
                .await?;
            if admin.failed_attempts + 1 >= MAX_FAILURES {
                return Err(too_many(format!(
                    "Wrong email or password. This account is now locked for {LOCK_MINUTES} minutes \
                     after {MAX_FAILURES} failed sign-ins."
                )));
            }
            return Err(unauthorized("Wrong email or password."));
        }
        None => return Err(unauthorized("Wrong email or password.")),
    };
    app.store.admin_succeeded(admin.id).await?;
    let token = crypto::random_urlsafe_256();
    let csrf = crypto::random_urlsafe_256();
    let expires = now + SESSION_HOURS * 3_600_000;
    app.store
        .insert_dashboard_session(
            &crypto::sha256_hex(&token),
            admin.id,
            admin.session_generation,
            &csrf,
            expires,
        )
        .await?;
    let row = SessionRow {
        admin_id: admin.id,
        email: admin.email,
        generation: admin.session_generation,
        session_generation: admin.session_generation,
        csrf_token: csrf,
        expires_at: expires,
    };
    Ok((token, row))
}

/// The `Set-Cookie` value of a new session, or of its removal (`token = None`).
pub fn cookie(token: Option<&str>) -> String {
    let mut c = cookie::Cookie::build((COOKIE, token.unwrap_or("").to_string()))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .path("/dashboard");
    c = match token {
        Some(_) => c.max_age(cookie::time::Duration::hours(SESSION_HOURS)),
        None => c.max_age(cookie::time::Duration::ZERO),
    };
    c.build().to_string()
}

/// The session cookie's token in a request, if any.
fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
}

/// Refuses a request a browser says comes from another site: `Sec-Fetch-Site` must be
/// `same-origin` (or absent: not a browser), `Origin` (when sent) this server's.
pub fn same_origin(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let refused =
        || forbidden("Refused: this request does not come from the dashboard's own page.");
    if let Some(site) = headers.get("sec-fetch-site") {
        if site.as_bytes() != b"same-origin" {
            return Err(refused());
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| refused())?;
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
        let public = app.config.public_url.trim_end_matches('/');
        if origin != public && (host.is_empty() || authority != host) {
            return Err(refused());
        }
    }
    Ok(())
}

/// A signed-in administrator (any dashboard API call).
pub struct Admin {
    pub email: String,
    pub admin_id: i64,
    pub token_hash: String,
    pub csrf_token: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let signed_out = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::MissingAuthHeader,
                "Sign in to the dashboard.",
            )
        };
        let token = token(&parts.headers).ok_or_else(signed_out)?;
        let token_hash = crypto::sha256_hex(&token);
        let row = app
            .store
            .dashboard_session(&token_hash)
            .await?
            .filter(|s| {
                s.generation == s.session_generation && s.expires_at > app.clock.now_unix_ms()
            })
            .ok_or_else(signed_out)?;
        Ok(Self {
            email: row.email,
            admin_id: row.admin_id,
            token_hash,
            csrf_token: row.csrf_token,
        })
    }
}

/// A signed-in administrator's write: same origin and the session's CSRF token.
pub struct AdminWrite(pub Admin);

impl FromRequestParts<AppState> for AdminWrite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        same_origin(app, &parts.headers)?;
        let admin = Admin::from_request_parts(parts, app).await?;
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !crypto::secrets_equal(sent, &admin.csrf_token) {
            return Err(forbidden(
                "Refused: the request does not carry this session's CSRF token.",
            ));
        }
        Ok(Self(admin))
    }
}

/// The client's address as the REST API's rate limit sees it (the peer, or behind a trusted proxy
/// the right-most untrusted `X-Forwarded-For` entry).
pub fn client_ip(parts: &Parts, app: &AppState) -> String {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if !app.config.trusted_proxies.contains(&peer) {
        return peer.to_string();
    }
    parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<std::net::IpAddr>().ok())
        .rev()
        .find(|ip| !app.config.trusted_proxies.contains(ip))
        .unwrap_or(peer)
        .to_string()
}

/// The client address as an extractor.
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(client_ip(parts, app)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_argon2id_hash_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
    }

    #[test]
    fn the_cookie_is_http_only_secure_strict_and_scoped() {
        let c = cookie(Some("t"));
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/dashboard"] {
            assert!(c.contains(part), "{c}");
        }
    }
}
