//! Why a renewal did not happen: the gate's own refusals (a failing grant backing off or exhausted),
//! a missing refresh token, or the provider's refusal, typed by the strategy that asked.

use latchkey_protocol::ErrorCode;

/// After a failed refresh, automatic (non-forced) refreshes wait this long (Nango's backoff).
pub const FAILURE_COOLDOWN_SECS: i64 = 30;
/// Failing days (at most one counted per UTC day) after which automatic refreshes stop until the
/// connection is re-authorized or refreshed by force (Nango's `refresh_exhausted`).
pub const EXHAUSTED_AFTER_DAYS: i64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the last refresh failed less than {FAILURE_COOLDOWN_SECS} seconds ago; retry later or force it")]
    Backoff,
    #[error("refreshing this connection failed on {EXHAUSTED_AFTER_DAYS} days; reconnect it or force a refresh")]
    Exhausted,
    #[error("the connection has no refresh token and its access token has expired")]
    NoRefreshToken,
    #[error("the provider refused to refresh the token: {0}")]
    Upstream(#[from] Refusal),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Why a provider did not renew a connection's credentials (counted on the connection and reported
/// by an auth webhook; answered as `invalid_credentials`).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The token endpoint refused, answered something unreadable, or could not be reached.
    #[error(transparent)]
    Token(#[from] crate::outbound::TokenError),
    /// The provider's token URL or parameters need connection-config values the connection lacks.
    #[error("{0}")]
    Config(String),
    /// Another renewable mode's provider refused (two-step, JWT, signature, …), with Nango's code.
    #[error("{1}")]
    Coded(ErrorCode, String),
}

/// Why a credential mode (two-step, JWT, signature, GitHub App, …) could not produce credentials.
#[derive(Debug, thiserror::Error)]
pub enum ModeError {
    /// A refusal with Nango's error code (answered 400).
    #[error("{1}")]
    Coded(ErrorCode, String),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<ModeError> for RefreshError {
    /// A mode's refusal on renewal is the provider's (counted on the connection); anything else is ours.
    fn from(e: ModeError) -> Self {
        match e {
            ModeError::Internal(e) => RefreshError::Internal(e),
            ModeError::Coded(code, message) => Refusal::Coded(code, message).into(),
        }
    }
}
