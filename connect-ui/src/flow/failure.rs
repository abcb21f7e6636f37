//! What the user reads when something goes wrong, decided here rather than in the views: the screens
//! that end the flow ([`Notice`]) and a failed attempt ([`Failure`]: its type for the parent's `error`
//! event, the sentence in the user's language, and where it is [`Shown`]). Pure translation of the
//! SDK's [`AuthError`] and the API's [`ApiFailure`], so it is tested natively with the flow.

use latchkey_protocol::AuthErrorType;
use latchkey_sdk::AuthError;

use crate::api::ApiFailure;
use crate::i18n::{I18n, Key};

/// Screens that end the flow with a sentence and nothing else to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// No session token (opened directly, or embedded without a valid `parentOrigin`).
    OpenedDirectly,
    /// The API answered 401.
    SessionExpired,
    /// Anything else that prevents loading.
    Fatal,
}

impl Notice {
    pub fn key(self) -> Key {
        match self {
            Self::OpenedDirectly => Key::OpenedDirectly,
            Self::SessionExpired => Key::SessionExpired,
            Self::Fatal => Key::FatalError,
        }
    }

    /// The notice for an API failure that prevents going on (a session or provider load).
    pub fn of(failure: &ApiFailure) -> Self {
        match failure {
            ApiFailure::SessionExpired => Self::SessionExpired,
            _ => Self::Fatal,
        }
    }
}

/// A failed attempt, as shown to the user and reported to the parent (one `error` event each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `AuthErrorType` string or a server code, passed through.
    pub error_type: String,
    /// The human sentence in the user's language (also sent as `errorMessage`).
    pub message: String,
    /// What the server or provider said, for the collapsible details.
    pub detail: Option<String>,
    pub shown: Shown,
}

/// Where a failure is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Recoverable on the spot (popup blocked or closed, network down): an inline alert above the
    /// Connect button; the form keeps its values.
    Inline,
    /// The "Connection failed" screen.
    Screen,
    /// The session is gone (401): the "session expired" screen.
    SessionExpired,
}

impl Failure {
    fn new(error_type: &str, message: &str) -> Self {
        Self {
            error_type: error_type.to_owned(),
            message: message.to_owned(),
            detail: None,
            shown: Shown::Screen,
        }
    }

    /// An OAuth popup flow's failure.
    pub fn from_auth_error(error: &AuthError, i18n: I18n) -> Self {
        let error_type = if error.kind.is_empty() {
            AuthErrorType::UnknownError.as_str()
        } else {
            &error.kind
        };
        let detail = (!error.message.is_empty()).then(|| error.message.clone());
        let (key, shown) = if error.kind == AuthErrorType::BlockedByBrowser.as_str() {
            (Some(Key::PopupBlocked), Shown::Inline)
        } else if error.kind == AuthErrorType::WindowClosed.as_str() {
            (Some(Key::PopupClosed), Shown::Inline)
        } else if crate::find_str(&error.message, "access_denied").is_some() {
            (Some(Key::ConsentDenied), Shown::Screen)
        } else if error.message.is_empty() {
            (Some(Key::UnknownFailure), Shown::Screen)
        } else {
            (None, Shown::Screen)
        };
        let message = key.map_or(error.message.as_str(), |k| i18n.t(k));
        Self {
            detail,
            shown,
            ..Self::new(error_type, message)
        }
    }

    /// A credential `POST`'s failure.
    pub fn from_api_failure(failure: &ApiFailure, i18n: I18n) -> Self {
        match failure {
            ApiFailure::SessionExpired => Self {
                shown: Shown::SessionExpired,
                ..Self::new("unknown_connect_session_token", i18n.t(Key::SessionExpired))
            },
            ApiFailure::Network => Self {
                shown: Shown::Inline,
                ..Self::new(
                    AuthErrorType::UnknownError.as_str(),
                    i18n.t(Key::NetworkFailure),
                )
            },
            ApiFailure::InvalidResponse => Self::new(
                AuthErrorType::UnknownError.as_str(),
                i18n.t(Key::UnknownFailure),
            ),
            ApiFailure::Server {
                status,
                code,
                message,
            } => {
                let code = if code.is_empty() {
                    AuthErrorType::UnknownError.as_str()
                } else {
                    code
                };
                let key = if (400..500).contains(status) {
                    Key::InvalidCredentials
                } else {
                    Key::UnknownFailure
                };
                Self {
                    detail: (!message.is_empty()).then(|| message.clone()),
                    ..Self::new(code, i18n.t(key))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn popup_errors_get_human_messages_and_keep_their_type() {
        let i18n = I18n::new(Lang::En);
        let blocked = AuthError {
            kind: "blocked_by_browser".into(),
            message: "Modal blocked by browser".into(),
        };
        let f = Failure::from_auth_error(&blocked, i18n);
        assert_eq!(f.error_type, "blocked_by_browser");
        assert_eq!(
            f.message,
            "The pop-up was blocked by your browser. Allow pop-ups and try again."
        );

        let closed = AuthError {
            kind: "window_closed".into(),
            message: String::new(),
        };
        assert_eq!(
            Failure::from_auth_error(&closed, i18n).message,
            "The authorization window was closed before finishing."
        );

        let server = AuthError {
            kind: "token_err".into(),
            message: "The provider refused the code.".into(),
        };
        let f = Failure::from_auth_error(&server, i18n);
        assert_eq!(
            (f.error_type.as_str(), f.message.as_str()),
            ("token_err", "The provider refused the code.")
        );

        assert_eq!(
            Failure::from_auth_error(&blocked, i18n).shown,
            Shown::Inline
        );
        assert_eq!(f.shown, Shown::Screen);
        assert_eq!(f.detail.as_deref(), Some("The provider refused the code."));

        let denied = AuthError {
            kind: "callback_err".into(),
            message: "The provider refused the authorization (access_denied: no).".into(),
        };
        let f = Failure::from_auth_error(&denied, i18n);
        assert_eq!(
            (f.error_type.as_str(), f.message.as_str(), f.shown),
            ("callback_err", i18n.t(Key::ConsentDenied), Shown::Screen)
        );

        let unknown = AuthError {
            kind: String::new(),
            message: String::new(),
        };
        assert_eq!(
            Failure::from_auth_error(&unknown, i18n).error_type,
            "unknown_error"
        );
    }

    #[test]
    fn credential_failures_explain_themselves_in_the_users_language() {
        let i18n = I18n::new(Lang::Fr);
        let rejected = Failure::from_api_failure(
            &ApiFailure::Server {
                status: 400,
                code: "invalid_body".into(),
                message: "apiKey: must be 1 to 1024 characters".into(),
            },
            i18n,
        );
        assert_eq!(rejected.error_type, "invalid_body");
        assert_eq!(rejected.message, i18n.t(Key::InvalidCredentials));
        assert_eq!(
            rejected.detail.as_deref(),
            Some("apiKey: must be 1 to 1024 characters")
        );
        assert_eq!(rejected.shown, Shown::Screen);

        let offline = Failure::from_api_failure(&ApiFailure::Network, i18n);
        assert_eq!(offline.shown, Shown::Inline);
        assert_eq!(offline.message, i18n.t(Key::NetworkFailure));

        let expired = Failure::from_api_failure(&ApiFailure::SessionExpired, i18n);
        assert_eq!(expired.shown, Shown::SessionExpired);

        let broken = Failure::from_api_failure(
            &ApiFailure::Server {
                status: 500,
                code: String::new(),
                message: String::new(),
            },
            i18n,
        );
        assert_eq!(
            (broken.error_type.as_str(), broken.detail),
            ("unknown_error", None)
        );
    }
}
