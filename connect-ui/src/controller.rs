//! The connect flow as a small state machine: which [`Screen`] is shown and the transitions between
//! them (token received → session loaded → integration chosen → OAuth popup → success/failure).
//!
//! Views read [`Controller::screen`] and call its methods; they never post to the parent or talk to
//! the API themselves. Every `connect`/`error`/`close` event is posted from here, exactly once per
//! transition. The OAuth popup is opened synchronously inside [`Controller::connect`], which must be
//! called directly from the click handler (popup blockers only allow `window.open` in a user gesture).

use std::cell::RefCell;

use latchkey_protocol::events::{ConnectPayload, ConnectUiEvent, ErrorPayload};
use latchkey_protocol::integrations::{ApiPublicIntegration, AuthMode};
use latchkey_protocol::params::DEFAULT_WEBSOCKETS_PATH;
use latchkey_protocol::AuthErrorType;
use latchkey_sdk::{start_oauth, AuthError, OAuthCanceller, OAuthRequest};
use reactive_graph::prelude::*;
use reactive_graph::signal::RwSignal;

use crate::api::{ApiClient, ApiFailure, ProviderSummary, SessionSettings};
use crate::config::{Hosting, LaunchConfig};
use crate::dom::{set_timeout, spawn_local};
use crate::form::Submission;
use crate::i18n::{I18n, Key};
use crate::parent::ParentChannel;
use crate::theme::{self, ThemeChoice};

/// How long an embedded Connect UI waits for the parent's `session_token` (as Nango).
const SESSION_TOKEN_WAIT_MS: i32 = 10_000;
/// How often the Connect UI looks at the OAuth popup's `closed` flag.
const POPUP_WATCH_MS: i32 = 500;
/// How long the popup must have read as closed, with no result, before the Connect UI offers a retry
/// (the callback page closes the popup itself right after posting the result).
const POPUP_CLOSED_GRACE_MS: i32 = 1_500;

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
        } else if error.message.contains("access_denied") {
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

/// Plain (non-reactive) state of the page's one controller: a leaked `RefCell`, as the controller
/// lives as long as the page. `Copy` like Leptos' `StoredValue`, without its arena and lock code.
pub struct Slot<T: 'static>(&'static RefCell<T>);

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Slot<T> {}

impl<T> Slot<T> {
    pub fn new(value: T) -> Self {
        Self(Box::leak(Box::new(RefCell::new(value))))
    }

    pub fn with_value<R>(self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.borrow())
    }

    pub fn update_value<R>(self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }

    pub fn set_value(self, value: T) {
        *self.0.borrow_mut() = value;
    }

    pub fn get_value(self) -> T
    where
        T: Clone,
    {
        self.0.borrow().clone()
    }
}

/// Owner of the flow; `Copy` (signal handles and [`Slot`]s), handed to every view.
#[derive(Clone, Copy)]
pub struct Controller {
    pub screen: RwSignal<Screen>,
    /// An OAuth popup flow is running.
    pub connecting: RwSignal<bool>,
    /// The integration screen was reached directly (single allowed integration): no Back link.
    pub single: RwSignal<bool>,
    /// A recoverable failure shown inline on the integration screen.
    pub alert: RwSignal<Option<Failure>>,
    /// The form differs from its starting values: closing asks first.
    pub dirty: RwSignal<bool>,
    /// The form's values, kept across "Try again" (integration key, values in field order).
    pub draft: Slot<Option<(String, Vec<String>)>>,
    pub i18n: I18n,
    config: Slot<LaunchConfig>,
    parent: Slot<ParentChannel>,
    api: Slot<Option<ApiClient>>,
    session: Slot<Option<SessionSettings>>,
    integrations: Slot<Vec<ApiPublicIntegration>>,
    /// Number of the current OAuth attempt: a result from an older one is ignored.
    attempt: Slot<u32>,
    running: Slot<Option<OAuthCanceller>>,
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
            alert: RwSignal::new(None),
            dirty: RwSignal::new(false),
            draft: Slot::new(None),
            i18n,
            config: Slot::new(config),
            parent: Slot::new(parent),
            api: Slot::new(None),
            session: Slot::new(None),
            integrations: Slot::new(Vec::new()),
            attempt: Slot::new(0),
            running: Slot::new(None),
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
                // Listen now; `ready` (which the parent answers with the token) is announced after
                // the first render, see `announce_ready`.
                self.parent.with_value(|p| {
                    p.listen_for_session_token(move |token| self.receive_token(token))
                });
                set_timeout(
                    Box::new(move || {
                        if self.api.with_value(Option::is_none) {
                            self.screen.set(Screen::Notice(Notice::OpenedDirectly));
                        }
                    }),
                    SESSION_TOKEN_WAIT_MS,
                );
            }
        }
    }

    /// Posts `ready` to the embedding page, once the first screen is in the DOM: the same moment as
    /// Nango's Connect UI (its home view's mount effect, after React's first commit), so a parent
    /// that shows the iframe on `ready` never shows an empty frame. Nothing when not embedded.
    pub fn announce_ready(self) {
        let embedded = self.config.with_value(|c| {
            matches!(
                c.hosting,
                Hosting::Embedded {
                    parent_origin: Some(_)
                }
            )
        });
        if embedded {
            self.post(&ConnectUiEvent::Ready);
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
                        Ok(selected) => self.show_integration(selected),
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
        self.draft.set_value(None);
        self.enter_integration(selected);
    }

    fn enter_integration(self, selected: Selected) {
        self.alert.set(None);
        self.dirty.set(false);
        self.screen.set(Screen::Integration(selected));
    }

    /// The session's preset connection config for `integration`.
    pub fn presets(self, integration: &str) -> Vec<(String, String)> {
        self.session.with_value(|s| {
            s.as_ref()
                .map(|s| s.presets_for(integration).to_vec())
                .unwrap_or_default()
        })
    }

    /// Submits API key / basic / client credentials (no popup).
    pub fn submit(self, selected: Selected, submission: Submission) {
        let Some(api) = self.api.get_value() else {
            return;
        };
        let Some(route) = latchkey_protocol::routes::credentials(&selected.provider.auth_mode)
        else {
            return;
        };
        // As `@nangohq/frontend`: these bodies carry the credentials' `type`.
        let mut submission = submission;
        let mode = &selected.provider.auth_mode;
        if matches!(
            mode,
            AuthMode::TwoStep | AuthMode::Jwt | AuthMode::Signature
        ) {
            submission
                .credentials
                .insert(0, ("type".to_owned(), mode.as_str().to_owned()));
        }
        self.abort_running();
        self.alert.set(None);
        self.connecting.set(true);
        let attempt = self.attempt.get_value();
        let sent = api.submit_credentials(route, &selected.integration.unique_key, &submission);
        spawn_local(async move {
            let result = sent.await;
            if self.attempt.get_value() != attempt {
                return;
            }
            self.connecting.set(false);
            match result {
                Ok(payload) => self.succeed(selected, payload),
                Err(failure) => {
                    self.report(selected, Failure::from_api_failure(&failure, self.i18n))
                }
            }
        });
    }

    /// Reacts to an API failure that prevents going on.
    pub fn api_failed(self, failure: &ApiFailure) {
        let notice = match failure {
            ApiFailure::SessionExpired => Notice::SessionExpired,
            _ => Notice::Fatal,
        };
        self.screen.set(Screen::Notice(notice));
    }

    /// Opens the OAuth popup NOW (call only from a click or submit handler), then waits for the
    /// result. `params` is the connection config the form collected (e.g. a Zendesk subdomain).
    pub fn connect(self, selected: Selected, params: Vec<(String, String)>) {
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
            params,
            ..OAuthRequest::default()
        };
        self.alert.set(None);
        match start_oauth(request) {
            Err(error) => self.fail(selected, &error),
            Ok(flow) => {
                self.connecting.set(true);
                let attempt = self.attempt.get_value();
                self.running.set_value(Some(flow.canceller()));
                self.watch_popup(selected.clone(), attempt, flow.canceller(), 0);
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

    /// Notices a popup the user closed: once it has read as closed for [`POPUP_CLOSED_GRACE_MS`]
    /// without a result, the attempt is reported as `window_closed` (the inline alert, with the
    /// Connect button to retry, and one `error` event). The flow keeps listening all the same: a
    /// provider page with `Cross-Origin-Opener-Policy` makes an open popup read as closed, and a
    /// result that still comes wins.
    fn watch_popup(self, selected: Selected, attempt: u32, popup: OAuthCanceller, closed_ms: i32) {
        set_timeout(
            Box::new(move || {
                if self.attempt.get_value() != attempt || !self.connecting.get_untracked() {
                    return; // over: a result, a failure, Back, Close or a new click
                }
                let closed_ms = if popup.popup_closed() {
                    closed_ms + POPUP_WATCH_MS
                } else {
                    0
                };
                if closed_ms > POPUP_CLOSED_GRACE_MS {
                    self.connecting.set(false);
                    let closed = AuthError::new(AuthErrorType::WindowClosed.as_str(), "");
                    self.fail(selected, &closed);
                } else {
                    self.watch_popup(selected, attempt, popup, closed_ms);
                }
            }),
            POPUP_WATCH_MS,
        );
    }

    fn succeed(self, selected: Selected, payload: ConnectPayload) {
        self.post(&ConnectUiEvent::Connect { payload });
        self.dirty.set(false);
        self.draft.set_value(None);
        self.screen.set(Screen::Success(selected));
    }

    fn fail(self, selected: Selected, error: &AuthError) {
        self.report(selected, Failure::from_auth_error(error, self.i18n));
    }

    /// Posts the one `error` event of a failed attempt and shows it.
    fn report(self, selected: Selected, failure: Failure) {
        self.post(&ConnectUiEvent::Error {
            payload: ErrorPayload {
                error_type: failure.error_type.clone(),
                error_message: failure.message.clone(),
            },
        });
        match failure.shown {
            Shown::SessionExpired => self.screen.set(Screen::Notice(Notice::SessionExpired)),
            Shown::Inline => self.alert.set(Some(failure)),
            Shown::Screen => self.screen.set(Screen::Failure(selected, failure)),
        }
    }

    /// Back from the integration screen to the list.
    pub fn back(self) {
        self.abort_running();
        self.dirty.set(false);
        self.screen.set(Screen::List(self.integrations.get_value()));
    }

    /// "Try again" on the failure screen: the form again, with the values the user typed.
    pub fn retry(self, selected: Selected) {
        self.enter_integration(selected);
    }

    /// X button, Escape, Finish: tell the parent to remove the iframe.
    pub fn close(self) {
        self.abort_running();
        self.post(&ConnectUiEvent::Close);
    }

    /// The popup was blocked and the page gave a `returnUrl`: "continue in this window" is offered.
    pub fn can_continue_here(&self) -> bool {
        self.config.with_value(|c| c.return_url.is_some())
    }

    /// Redirect mode, after a blocked popup (call from the click: navigating the top window from a
    /// frame needs the user's gesture). The whole page goes through the provider and back to the
    /// `returnUrl`, where the customer's page reads the outcome with `handleRedirectResult()`.
    pub fn continue_here(self, selected: Selected, params: Vec<(String, String)>) {
        let (Some(api), Some(return_url)) = (
            self.api.get_value(),
            self.config.with_value(|c| c.return_url.clone()),
        ) else {
            return;
        };
        self.abort_running();
        let request = OAuthRequest {
            host: api.base().to_owned(),
            provider_config_key: selected.integration.unique_key.clone(),
            connect_session_token: api.token().to_owned(),
            params,
            return_url,
            ..OAuthRequest::default()
        };
        let target = web_sys::window().and_then(|w| w.top().ok().flatten());
        match (latchkey_sdk::redirect_url(request), target) {
            (Ok(href), Some(top)) => {
                let _ = top.location().set_href(&href);
            }
            (Err(error), _) => self.fail(selected, &error),
            (Ok(_), None) => {}
        }
    }

    /// Cancels the running OAuth attempt, if any (closes its popup and socket).
    fn abort_running(self) {
        self.attempt.update_value(|n| *n = n.wrapping_add(1));
        if let Some(canceller) = self.running.update_value(Option::take) {
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
