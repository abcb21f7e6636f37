//! [`AuthError`]: the one failure type of the SDK, in Rust and (through the `js` façade) in JavaScript.
//!
//! `kind` is an `AuthErrorType` from `latchkey_protocol` (`blocked_by_browser`, `window_closed`, …) or a
//! server error code passed through verbatim, exactly as `@nangohq/frontend` surfaces `AuthError.type`.
//! Messages are fixed English strings: they must never contain a token or a credential.

use latchkey_protocol::AuthErrorType;

/// A typed SDK failure: `kind` is an `AuthErrorType` string (`blocked_by_browser`, `window_closed`, …)
/// or a server error code passed through verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub kind: String,
    pub message: String,
}

impl AuthError {
    /// An error with a server-provided (or otherwise dynamic) kind.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
        }
    }

    /// An error of one of the SDK's own types.
    pub fn of(kind: AuthErrorType, message: &str) -> Self {
        Self::new(kind.as_str(), message)
    }

    pub(crate) fn blocked_by_browser() -> Self {
        Self::of(AuthErrorType::BlockedByBrowser, "Modal blocked by browser")
    }

    pub(crate) fn missing_auth_token() -> Self {
        Self::of(
            AuthErrorType::MissingAuthToken,
            "You must specify a public key OR a connect session token (cf. documentation).",
        )
    }

    pub(crate) fn invalid_host_url() -> Self {
        Self::of(
            AuthErrorType::InvalidHostUrl,
            "Invalid URL provided for the Nango host.",
        )
    }

    pub(crate) fn window_closed() -> Self {
        Self::of(
            AuthErrorType::WindowClosed,
            "The authorization window was closed before the authorization flow was completed",
        )
    }

    pub(crate) fn unknown(message: &str) -> Self {
        Self::of(AuthErrorType::UnknownError, message)
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.kind)?;
        f.write_str(": ")?;
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthError {}
