//! The connect flow as a small state machine: which [`Screen`] is shown and the transitions between
//! them (token received → session loaded → integration chosen → OAuth popup → success/failure).
//!
//! Views read [`Controller::screen`] and call its methods; they never post to the parent or talk to
//! the API themselves. Every `connect`/`error`/`close` event is posted from here, exactly once per
//! transition. The OAuth popup is opened synchronously inside [`Controller::connect`], which must be
//! called directly from the click handler (popup blockers only allow `window.open` in a user gesture).

use std::time::Duration;

use latchkey_protocol::events::{ConnectPayload, ConnectUiEvent, ErrorPayload};
use latchkey_protocol::integrations::ApiPublicIntegration;
use latchkey_protocol::params::DEFAULT_WEBSOCKETS_PATH;
use latchkey_protocol::AuthErrorType;
use latchkey_sdk::{start_oauth, AuthError, OAuthCanceller, OAuthRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{ApiClient, ApiFailure, ProviderSummary, SessionSettings};
use crate::config::{Hosting, LaunchConfig};
use crate::i18n::{I18n, Key};
use crate::parent::ParentChannel;
use crate::theme::{self, ThemeChoice};

/// How long an embedded Connect UI waits for the parent's `session_token` (as Nango).
const SESSION_TOKEN_WAIT: Duration = Duration::from_secs(10);

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
}

/// The integration the user is connecting, with its provider's catalog entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub integration: ApiPublicIntegration,
    pub provider: ProviderSummary,
}

/// A failed OAuth attempt as shown on the failure screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `AuthErrorType` string or a server code, passed through.
    pub error_type: String,
    /// The human sentence (also sent as `errorMessage`).
    pub message: String,
}

impl Failure {
    pub fn from_auth_error(error: &AuthError, i18n: I18n) -> Self {
        let message = if error.kind == AuthErrorType::BlockedByBrowser.as_str() {
            i18n.t(Key::PopupBlocked).to_owned()
        } else if error.kind == AuthErrorType::WindowClosed.as_str() {
            i18n.t(Key::PopupClosed).to_owned()
        } else if error.message.is_empty() {
            i18n.t(Key::UnknownFailure).to_owned()
        } else {
            error.message.clone()
        };
        let error_type = if error.kind.is_empty() {
            AuthErrorType::UnknownError.as_str()
        } else {
            &error.kind
        };
        Self {
            error_type: error_type.to_owned(),
            message,
        }
    }
}

/// What the dialog shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Loading,
    Notice(Notice),
    List(Vec<ApiPublicIntegration>),
    Integration(Selected),
    Success(Selected),
    Failure(Selected, Failure),
}

/// The controller provided by [`crate::app::App`].
pub fn use_controller() -> Controller {
    expect_context::<Controller>()
}

/// Owner of the flow; `Copy` (arena handles), handed to views through context.
#[derive(Clone, Copy)]
pub struct Controller {
    pub screen: RwSignal<Screen>,
    /// An OAuth popup flow is running.
    pub connecting: RwSignal<bool>,
    /// The integration screen was reached directly (single allowed integration): no Back link.
    pub single: RwSignal<bool>,
    pub i18n: I18n,
    config: StoredValue<LaunchConfig>,
    parent: StoredValue<ParentChannel, LocalStorage>,
    api: StoredValue<Option<ApiClient>>,
    session: StoredValue<Option<SessionSettings>>,
    integrations: StoredValue<Vec<ApiPublicIntegration>>,
    /// Number of the current OAuth attempt: a result from an older one is ignored.
    attempt: StoredValue<u32>,
    running: StoredValue<Option<OAuthCanceller>, LocalStorage>,
}

impl Controller {
    pub fn new(config: LaunchConfig, i18n: I18n) -> Self {
        let parent = match (&config.hosting, web_sys::window()) {
            (
                Hosting::Embedded {
                    parent_origin: Some(origin),
                },
                Some(window),
            ) => ParentChannel::to_parent(&window, origin),
            _ => ParentChannel::none(),
        };
        Self {
            screen: RwSignal::new(Screen::Loading),
            connecting: RwSignal::new(false),
            single: RwSignal::new(false),
            i18n,
            config: StoredValue::new(config),
            parent: StoredValue::new_local(parent),
            api: StoredValue::new(None),
            session: StoredValue::new(None),
            integrations: StoredValue::new(Vec::new()),
            attempt: StoredValue::new(0),
            running: StoredValue::new_local(None),
        }
    }

    /// Embedded with a parent we can talk to: show the close button, post events.
    pub fn can_close(&self) -> bool {
        self.parent.with_value(ParentChannel::is_connected)
    }

    /// Opened from a connect link (top-level tab).
    pub fn is_connect_link(&self) -> bool {
        self.config.with_value(|c| !c.is_embedded())
    }

    /// Starts listening for the session token (embedded) or takes it from the URL (connect link).
    pub fn boot(self) {
        theme::apply(
            self.config
                .with_value(|c| c.theme)
                .unwrap_or(ThemeChoice::System),
            None,
        );
        match self.config.get_value().hosting {
            Hosting::ConnectLink {
                session_token: Some(token),
            } => self.receive_token(token),
            Hosting::ConnectLink {
                session_token: None,
            }
            | Hosting::Embedded {
                parent_origin: None,
            } => {
                self.screen.set(Screen::Notice(Notice::OpenedDirectly));
            }
            Hosting::Embedded {
                parent_origin: Some(_),
            } => {
                // Listen first, then announce: the parent answers `ready` with the token.
                self.parent.with_value(|p| {
                    p.listen_for_session_token(move |token| self.receive_token(token))
                });
                self.post(&ConnectUiEvent::Ready);
                set_timeout(
                    move || {
                        if self.api.with_value(Option::is_none) {
                            self.screen.set(Screen::Notice(Notice::OpenedDirectly));
                        }
                    },
                    SESSION_TOKEN_WAIT,
                );
            }
        }
    }

    /// A (new) session token: load the session and its integrations.
    fn receive_token(self, token: String) {
        if self
            .api
            .with_value(|api| api.as_ref().is_some_and(|a| a.token() == token))
        {
            return; // the parent may send the same token again
        }
        self.abort_running();
        let (base, lang) = self
            .config
            .with_value(|c| (c.api_url.clone(), c.lang.clone()));
        let accept_language = lang.map(|_| self.i18n.lang.tag().to_owned());
        let api = ApiClient::new(base, token, accept_language);
        self.api.set_value(Some(api.clone()));
        self.screen.set(Screen::Loading);
        spawn_local(async move {
            // Both requests are sent before either is awaited.
            let (session, integrations) = (api.connect_session(), api.integrations());
            let (session, integrations) = (session.await, integrations.await);
            // A newer token arrived meanwhile: its own load wins.
            if self
                .api
                .with_value(|current| current.as_ref() != Some(&api))
            {
                return;
            }
            match (session, integrations) {
                (Ok(session), Ok(integrations)) => self.session_loaded(session, integrations),
                (Err(e), _) | (_, Err(e)) => self.api_failed(&e),
            }
        });
    }

    fn session_loaded(self, session: SessionSettings, integrations: Vec<ApiPublicIntegration>) {
        let settings = &session.connect_ui_settings;
        let choice = self
            .config
            .with_value(|c| c.theme)
            .or_else(|| ThemeChoice::parse(&settings.default_theme))
            .unwrap_or(ThemeChoice::System);
        theme::apply(choice, Some(&settings.theme));
        let single = session
            .allowed_integrations
            .as_ref()
            .is_some_and(|a| a.len() == 1)
            && integrations.len() == 1;
        self.session.set_value(Some(session));
        self.single.set(single);
        let mut integrations = integrations;
        if single {
            if let Some(only) = integrations.pop() {
                spawn_local(async move {
                    match self.load_provider(only).await {
                        Ok(selected) => self.screen.set(Screen::Integration(selected)),
                        Err(e) => self.api_failed(&e),
                    }
                });
                return;
            }
        }
        self.integrations.set_value(integrations.clone());
        self.screen.set(Screen::List(integrations));
    }

    /// Fetches the provider of `integration`; the list view shows its own inline error on failure.
    pub async fn load_provider(
        self,
        integration: ApiPublicIntegration,
    ) -> Result<Selected, ApiFailure> {
        let api = self.api.get_value().ok_or(ApiFailure::SessionExpired)?;
        let provider = api.provider(&integration.provider).await?;
        Ok(Selected {
            integration,
            provider,
        })
    }

    pub fn show_integration(self, selected: Selected) {
        self.screen.set(Screen::Integration(selected));
    }

    /// Reacts to an API failure that prevents going on.
    pub fn api_failed(self, failure: &ApiFailure) {
        let notice = match failure {
            ApiFailure::SessionExpired => Notice::SessionExpired,
            _ => Notice::Fatal,
        };
        self.screen.set(Screen::Notice(notice));
    }

    /// Opens the OAuth popup NOW (call only from a click handler), then waits for the result.
    pub fn connect(self, selected: Selected) {
        let Some(api) = self.api.get_value() else {
            return;
        };
        // A click while a flow runs starts over (as Nango's `clear()` before each attempt): the user
        // may have closed a popup we could not see closing.
        self.abort_running();
        let request = OAuthRequest {
            host: api.base().to_owned(),
            websockets_path: self.websockets_path(api.base()),
            provider_config_key: selected.integration.unique_key.clone(),
            connect_session_token: api.token().to_owned(),
            detect_closed_auth_window: self.config.with_value(|c| c.detect_closed_auth_window),
            ..OAuthRequest::default()
        };
        match start_oauth(request) {
            Err(error) => self.fail(selected, &error),
            Ok(flow) => {
                self.connecting.set(true);
                let attempt = self.attempt.get_value();
                self.running.set_value(Some(flow.canceller()));
                spawn_local(async move {
                    let result = flow.wait().await;
                    if self.attempt.get_value() != attempt {
                        return; // cancelled (Back, Close, a new click): its outcome is nobody's
                    }
                    self.running.set_value(None);
                    self.connecting.set(false);
                    match result {
                        Ok(payload) => self.succeed(selected, payload),
                        Err(error) => self.fail(selected, &error),
                    }
                });
            }
        }
    }

    fn succeed(self, selected: Selected, payload: ConnectPayload) {
        self.post(&ConnectUiEvent::Connect { payload });
        self.screen.set(Screen::Success(selected));
    }

    fn fail(self, selected: Selected, error: &AuthError) {
        let failure = Failure::from_auth_error(error, self.i18n);
        self.post(&ConnectUiEvent::Error {
            payload: ErrorPayload {
                error_type: failure.error_type.clone(),
                error_message: failure.message.clone(),
            },
        });
        self.screen.set(Screen::Failure(selected, failure));
    }

    /// Back from the integration screen to the list.
    pub fn back(self) {
        self.abort_running();
        self.screen.set(Screen::List(self.integrations.get_value()));
    }

    /// "Try again" on the failure screen.
    pub fn retry(self, selected: Selected) {
        self.screen.set(Screen::Integration(selected));
    }

    /// X button, Escape, Finish: tell the parent to remove the iframe.
    pub fn close(self) {
        self.abort_running();
        self.post(&ConnectUiEvent::Close);
    }

    /// Cancels the running OAuth attempt, if any (closes its popup and socket).
    fn abort_running(self) {
        self.attempt.update_value(|n| *n = n.wrapping_add(1));
        if let Some(canceller) = self.running.try_update_value(Option::take).flatten() {
            canceller.cancel();
        }
        self.connecting.set(false);
    }

    fn post(self, event: &ConnectUiEvent) {
        self.parent.with_value(|p| p.post(event));
    }

    /// As Nango's Connect UI: the API base's own path prefix + the server's WebSocket path.
    fn websockets_path(self, api_base: &str) -> String {
        let server_path = self
            .session
            .with_value(|s| s.as_ref().and_then(|s| s.websockets_path.clone()))
            .unwrap_or_else(|| DEFAULT_WEBSOCKETS_PATH.to_owned());
        let prefix = web_sys::Url::new(api_base)
            .map(|u| u.pathname())
            .unwrap_or_default();
        join_paths(&prefix, &server_path)
    }
}

/// `prefix` (may be `/` or empty) joined with the absolute `path`.
fn join_paths(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if path.starts_with('/') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn websocket_path_keeps_the_api_prefix() {
        assert_eq!(join_paths("/", "/"), "/");
        assert_eq!(join_paths("", "/"), "/");
        assert_eq!(join_paths("/api", "/"), "/api/");
        assert_eq!(join_paths("/api/", "/ws"), "/api/ws");
    }

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

        let unknown = AuthError {
            kind: String::new(),
            message: String::new(),
        };
        assert_eq!(
            Failure::from_auth_error(&unknown, i18n).error_type,
            "unknown_error"
        );
    }
}
