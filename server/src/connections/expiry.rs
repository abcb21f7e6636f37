//! When stored credentials are due for renewal: an expiry within the refresh window (or unreadable),
//! or, for a GitHub App connection that also authorized its user, the user's OAuth2 credentials due.
//! Shared by the renewal gate and by the strategies that renew nested credentials.

use latchkey_protocol::connection::Credentials;

/// Refresh when the token expires within this window.
pub const REFRESH_WINDOW_SECS: i64 = 15 * 60;

/// Whether an OAuth2 access token or a client-credentials token expires within the refresh window
/// (an unreadable expiry counts as expiring; no expiry, as not).
pub fn expires_soon(c: &Credentials, now: i64) -> bool {
    expires_at(c).is_some_and(|at| {
        chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| t.timestamp().saturating_sub(now) < REFRESH_WINDOW_SECS)
            .unwrap_or(true)
    }) || user_credentials_due(c, now)
}

/// A `CUSTOM` GitHub App connection whose user's credentials are due
/// ([`due_user_refresh_token`]): the connection is then renewed, as Nango does at the earlier of both
/// expiries.
fn user_credentials_due(c: &Credentials, now: i64) -> bool {
    matches!(c, Credentials::App { user_credentials: Some(user), .. }
        if due_user_refresh_token(user, now).is_some())
}

/// The refresh token of a GitHub App user's credentials (`userCredentials`), when they are OAuth2
/// ones that can be refreshed and expire within the refresh window.
pub fn due_user_refresh_token(user: &serde_json::Value, now: i64) -> Option<String> {
    let user = serde_json::from_value::<Credentials>(user.clone()).ok()?;
    match &user {
        Credentials::OAuth2 {
            refresh_token: Some(token),
            ..
        } if expires_soon(&user, now) => Some(token.clone()),
        _ => None,
    }
}

/// Whether the access token is past its expiry (a refreshed token within the window is still usable).
pub(super) fn expired(c: &Credentials, now: i64) -> bool {
    expires_at(c).is_some_and(|at| {
        chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| t.timestamp() <= now)
            .unwrap_or(true)
    })
}

/// When an OAuth2 access token or a client-credentials token expires, if known.
fn expires_at(c: &Credentials) -> Option<&str> {
    match c {
        Credentials::OAuth2 { expires_at, .. }
        | Credentials::OAuth2Cc { expires_at, .. }
        | Credentials::TwoStep { expires_at, .. }
        | Credentials::Jwt { expires_at, .. }
        | Credentials::Bill { expires_at, .. }
        | Credentials::Signature { expires_at, .. }
        | Credentials::AwsSigV4 { expires_at, .. }
        | Credentials::App { expires_at, .. } => expires_at.as_deref(),
        _ => None,
    }
}
