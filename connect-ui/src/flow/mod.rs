//! The connect flow as a pure state machine: [`step`] takes the [`State`] and one [`Event`] (a click,
//! an API answer, a timer, the parent's token) and returns the [`Effect`]s the page must perform.
//!
//! Why pure: the rules that matter to users and integrators live here and are unit-tested natively
//! (`cargo test -p connect-ui --lib`, see `tests/`) without a browser — which screen follows which,
//! that every `connect`/`error`/`close` event is posted exactly once per transition, and that an
//! answer for an older attempt or session load is ignored (Back, Close, a new click or a new token
//! cancelled it: each attempt and each load has a number). Nothing here touches the DOM, JS or
//! signals; [`crate::controller`] runs the machine in the page (signals for the views, API calls,
//! the popup, timers, `postMessage`). The same shape as the SDK's OAuth attempt (`FlowMachine`).

mod failure;
#[cfg(test)]
mod tests;

pub use failure::{Failure, Notice, Shown};

use std::sync::Arc;

use latchkey_protocol::connect::ConnectUiTheme;
use latchkey_protocol::events::{ConnectPayload, ConnectUiEvent, ErrorPayload};
use latchkey_protocol::integrations::{ApiPublicIntegration, AuthMode};
use latchkey_protocol::params::DEFAULT_WEBSOCKETS_PATH;
use latchkey_protocol::AuthErrorType;
use latchkey_sdk::{AuthError, OAuthRequest};

use crate::api::{ApiClient, ApiFailure};
use crate::config::{Hosting, LaunchConfig};
use crate::form::Submission;
use crate::i18n::I18n;
use crate::model::{ProviderSummary, SessionSettings};
use crate::theme::ThemeChoice;

/// How long an embedded Connect UI waits for the parent's `session_token` (as Nango).
pub const SESSION_TOKEN_WAIT_MS: i32 = 10_000;
/// How often the Connect UI looks at the OAuth popup's `closed` flag.
pub const POPUP_WATCH_MS: i32 = 500;
/// How long the popup must have read as closed, with no result, before the Connect UI offers a retry
/// (the callback page closes the popup itself right after posting the result).
pub const POPUP_CLOSED_GRACE_MS: i32 = 1_500;

/// The integration the user is connecting, with its provider's catalog entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub integration: ApiPublicIntegration,
    pub provider: ProviderSummary,
}

/// What the dialog shows. The integration is shared (`Arc`: signals need `Send + Sync`) by the
/// screen, the events the views send and the current attempt: handing it on is a count, not a deep
/// copy of its catalog entry, which keeps the wasm smaller.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Loading,
    Notice(Notice),
    List(Vec<ApiPublicIntegration>),
    Integration(Arc<Selected>),
    Success(Arc<Selected>),
    Failure(Arc<Selected>, Failure),
}

/// Everything the flow knows. The first six fields are what the views show.
#[derive(Debug)]
pub struct State {
    pub screen: Screen,
    /// A credential or OAuth attempt is waiting for its answer.
    pub connecting: bool,
    /// The integration screen was reached directly (single allowed integration): no Back link.
    pub single: bool,
    /// A recoverable failure shown inline on the integration screen.
    pub alert: Option<Failure>,
    /// The form differs from its starting values: closing asks first.
    pub dirty: bool,
    /// The form's values, kept across "Try again" (integration key, values in field order).
    pub draft: Option<(String, Vec<String>)>,
    /// `screen` was set since the runner last rendered it (even to an equal value).
    pub redraw: bool,
    /// `alert` was set since the runner last showed it (even to an equal value).
    pub realert: bool,

    pub config: LaunchConfig,
    pub i18n: I18n,
    /// The API base's own path (`/` or a prefix such as `/api`), which the WebSocket path keeps.
    pub api_path: String,
    /// The client of the current session token.
    pub api: Option<ApiClient>,
    /// Number of the current session load: the answer of an older one is ignored.
    pub load: u32,
    pub session: Option<SessionSettings>,
    pub integrations: Vec<ApiPublicIntegration>,

    /// Number of the current attempt: the answer of an older one is ignored.
    pub attempt: u32,
    /// What the current attempt connects, until its answer.
    pub target: Option<Arc<Selected>>,
    /// The current attempt's OAuth flow (popup, socket) may still run: aborting must cancel it.
    pub popup: bool,
    /// How long the current attempt's popup has read as closed.
    pub closed_ms: i32,
}

/// Something that happened. `load` and `attempt` are the numbers the matching effect carried.
#[derive(Debug)]
pub enum Event {
    /// The page started.
    Boot,
    /// The first screen is in the DOM.
    Rendered,
    /// A session token, from the parent or the connect link.
    Token(String),
    /// [`SESSION_TOKEN_WAIT_MS`] passed since boot.
    TokenWaitElapsed,
    SessionLoaded {
        load: u32,
        result: Result<(SessionSettings, Vec<ApiPublicIntegration>), ApiFailure>,
    },
    /// The provider of the single integration ([`Effect::LoadProvider`]) or of the one chosen in
    /// the list (whose view shows its own alert for a failure other than 401).
    ProviderLoaded {
        load: u32,
        result: Result<Selected, ApiFailure>,
    },
    /// The form changed: its values, and whether they differ from the starting ones.
    Edited {
        key: String,
        values: Vec<String>,
        dirty: bool,
    },
    /// The Connect button of a credential form (no popup).
    Submit {
        selected: Arc<Selected>,
        submission: Submission,
    },
    Submitted {
        attempt: u32,
        result: Result<ConnectPayload, ApiFailure>,
    },
    /// The Connect button of an OAuth form, with the connection config it collected.
    Connect {
        selected: Arc<Selected>,
        params: Vec<(String, String)>,
    },
    /// The popup opened and its flow is running.
    OAuthStarted {
        attempt: u32,
    },
    /// The OAuth flow's result; also a flow that could not start (popup blocked) or a redirect
    /// that could not be built.
    OAuthResult {
        attempt: u32,
        result: Result<ConnectPayload, AuthError>,
    },
    /// [`Effect::WatchPopup`]'s look at the popup.
    PopupWatch {
        attempt: u32,
        closed: bool,
    },
    /// "Continue in this window" after a blocked popup (redirect mode).
    ContinueHere {
        selected: Arc<Selected>,
        params: Vec<(String, String)>,
    },
    Back,
    /// "Try again" on the failure screen.
    Retry(Arc<Selected>),
    /// The close button, Escape, Finish.
    Close,
}

/// What the page must do.
#[derive(Debug)]
pub enum Effect {
    /// Post this event to the embedding page.
    Post(ConnectUiEvent),
    /// Apply the theme choice and, when known, the environment's palette.
    ApplyTheme(ThemeChoice, Option<ConnectUiTheme>),
    /// Listen for the parent's token ([`Event::Token`]); [`Event::TokenWaitElapsed`] after
    /// [`SESSION_TOKEN_WAIT_MS`].
    AwaitToken,
    /// Load the session and its integrations ([`Event::SessionLoaded`]).
    LoadSession { load: u32, api: ApiClient },
    /// Load the integration's provider with the current token ([`Event::ProviderLoaded`]).
    LoadProvider(ApiPublicIntegration),
    /// `POST` credentials to `route` + `key` ([`Event::Submitted`]).
    SubmitCredentials {
        attempt: u32,
        api: ApiClient,
        route: &'static str,
        key: String,
        submission: Submission,
    },
    /// Open the OAuth popup now, in the user's gesture ([`Event::OAuthStarted`], then
    /// [`Event::OAuthResult`]).
    StartOAuth { attempt: u32, request: OAuthRequest },
    /// Cancel the running OAuth flow (closes its popup and socket).
    Cancel,
    /// Look at the popup after [`POPUP_WATCH_MS`] ([`Event::PopupWatch`]).
    WatchPopup { attempt: u32 },
    /// Send the top window through the provider and back to `request.return_url`; a failure to
    /// build the URL is an [`Event::OAuthResult`].
    Redirect { attempt: u32, request: OAuthRequest },
}

impl State {
    /// `api_path`: the path of `config.api_url` (the runner reads it through the browser's `URL`).
    pub fn new(config: LaunchConfig, i18n: I18n, api_path: String) -> Self {
        Self {
            screen: Screen::Loading,
            connecting: false,
            single: false,
            alert: None,
            dirty: false,
            draft: None,
            redraw: false,
            realert: false,
            config,
            i18n,
            api_path,
            api: None,
            load: 0,
            session: None,
            integrations: Vec::new(),
            attempt: 0,
            target: None,
            popup: false,
            closed_ms: 0,
        }
    }

    /// Embedded with a parent we can talk to.
    pub fn has_parent(&self) -> bool {
        matches!(
            self.config.hosting,
            Hosting::Embedded {
                parent_origin: Some(_)
            }
        )
    }

    /// The session's preset connection config for `integration`.
    pub fn presets(&self, integration: &str) -> &[(String, String)] {
        self.session
            .as_ref()
            .map_or(&[], |s| s.presets_for(integration))
    }

    fn show(&mut self, screen: Screen) {
        self.screen = screen;
        self.redraw = true;
    }

    fn set_alert(&mut self, alert: Option<Failure>) {
        self.alert = alert;
        self.realert = true;
    }

    /// The integration screen, fresh: no alert, nothing typed since.
    fn enter(&mut self, selected: Arc<Selected>) {
        self.set_alert(None);
        self.dirty = false;
        self.show(Screen::Integration(selected));
    }

    /// Ends the current attempt: its answer will be ignored, its flow cancelled.
    fn abort(&mut self, fx: &mut Vec<Effect>) {
        self.attempt = self.attempt.wrapping_add(1);
        if std::mem::take(&mut self.popup) {
            fx.push(Effect::Cancel);
        }
        self.connecting = false;
        self.target = None;
    }

    /// Starts an attempt for `selected` (after [`Self::abort`]).
    fn begin(&mut self, selected: Arc<Selected>) -> u32 {
        self.target = Some(selected);
        self.attempt
    }

    /// As Nango's Connect UI: the API base's own path prefix + the server's WebSocket path.
    fn websockets_path(&self) -> String {
        let server_path = self
            .session
            .as_ref()
            .and_then(|s| s.websockets_path.as_deref())
            .unwrap_or(DEFAULT_WEBSOCKETS_PATH);
        join_paths(&self.api_path, server_path)
    }

    /// The request of an OAuth flow for `selected` with the current token.
    fn oauth_request(&self, api: &ApiClient, selected: &Selected) -> OAuthRequest {
        OAuthRequest {
            host: api.base().to_owned(),
            provider_config_key: selected.integration.unique_key.clone(),
            connect_session_token: api.token().to_owned(),
            ..OAuthRequest::default()
        }
    }
}

/// Applies `event` to `state`; returns what the page must do, in order.
pub fn step(state: &mut State, event: Event) -> Vec<Effect> {
    let mut fx = Vec::new();
    match event {
        Event::Boot => boot(state, &mut fx),
        Event::Rendered => {
            if state.has_parent() {
                fx.push(Effect::Post(ConnectUiEvent::Ready));
            }
        }
        Event::Token(token) => receive_token(state, token, &mut fx),
        Event::TokenWaitElapsed => {
            if state.api.is_none() {
                state.show(Screen::Notice(Notice::OpenedDirectly));
            }
        }
        Event::SessionLoaded { load, result } if load == state.load => match result {
            Ok((session, integrations)) => session_loaded(state, session, integrations, &mut fx),
            Err(e) => state.show(Screen::Notice(Notice::of(&e))),
        },
        Event::ProviderLoaded { load, result } if load == state.load => match result {
            Ok(selected) => {
                state.draft = None;
                state.enter(Arc::new(selected));
            }
            Err(e) if state.single || e == ApiFailure::SessionExpired => {
                state.show(Screen::Notice(Notice::of(&e)));
            }
            Err(_) => {} // the list shows it
        },
        Event::Edited { key, values, dirty } => {
            state.dirty = dirty;
            state.draft = Some((key, values));
        }
        Event::Submit {
            selected,
            submission,
        } => submit(state, selected, submission, &mut fx),
        Event::Connect { selected, params } => {
            let Some(api) = &state.api else {
                return fx;
            };
            let request = OAuthRequest {
                websockets_path: state.websockets_path(),
                detect_closed_auth_window: state.config.detect_closed_auth_window,
                params,
                ..state.oauth_request(api, &selected)
            };
            // A click while a flow runs starts over (as Nango's `clear()` before each attempt):
            // the user may have closed a popup we could not see closing.
            state.abort(&mut fx);
            state.set_alert(None);
            let attempt = state.begin(selected);
            fx.push(Effect::StartOAuth { attempt, request });
        }
        Event::OAuthStarted { attempt } if attempt == state.attempt => {
            state.connecting = true;
            state.popup = true;
            state.closed_ms = 0;
            fx.push(Effect::WatchPopup { attempt });
        }
        Event::Submitted { attempt, result } if attempt == state.attempt => {
            state.connecting = false;
            let i18n = state.i18n;
            conclude(
                state,
                result.map_err(|e| Failure::from_api_failure(&e, i18n)),
                &mut fx,
            );
        }
        Event::OAuthResult { attempt, result } if attempt == state.attempt => {
            state.popup = false;
            state.connecting = false;
            let i18n = state.i18n;
            conclude(
                state,
                result.map_err(|e| Failure::from_auth_error(&e, i18n)),
                &mut fx,
            );
        }
        Event::PopupWatch { attempt, closed } if attempt == state.attempt && state.connecting => {
            watch_popup(state, closed, &mut fx);
        }
        Event::ContinueHere { selected, params } => {
            let (Some(api), Some(return_url)) = (&state.api, &state.config.return_url) else {
                return fx;
            };
            let request = OAuthRequest {
                params,
                return_url: return_url.clone(),
                ..state.oauth_request(api, &selected)
            };
            state.abort(&mut fx);
            let attempt = state.begin(selected);
            fx.push(Effect::Redirect { attempt, request });
        }
        Event::Back => {
            state.abort(&mut fx);
            state.dirty = false;
            state.show(Screen::List(state.integrations.clone()));
        }
        Event::Retry(selected) => state.enter(selected),
        Event::Close => {
            state.abort(&mut fx);
            fx.push(Effect::Post(ConnectUiEvent::Close));
        }
        // An answer for an older load or attempt, or a look at a popup whose attempt is over.
        Event::SessionLoaded { .. }
        | Event::ProviderLoaded { .. }
        | Event::OAuthStarted { .. }
        | Event::Submitted { .. }
        | Event::OAuthResult { .. }
        | Event::PopupWatch { .. } => {}
    }
    fx
}

fn boot(state: &mut State, fx: &mut Vec<Effect>) {
    fx.push(Effect::ApplyTheme(
        state.config.theme.unwrap_or(ThemeChoice::System),
        None,
    ));
    match &state.config.hosting {
        Hosting::ConnectLink {
            session_token: Some(token),
        } => {
            let token = token.clone();
            receive_token(state, token, fx);
        }
        // `ready` (which the parent answers with the token) follows the first render.
        Hosting::Embedded {
            parent_origin: Some(_),
        } => fx.push(Effect::AwaitToken),
        _ => state.show(Screen::Notice(Notice::OpenedDirectly)),
    }
}

/// A (new) session token: load the session and its integrations.
fn receive_token(state: &mut State, token: String, fx: &mut Vec<Effect>) {
    if state.api.as_ref().is_some_and(|a| a.token() == token) {
        return; // the parent may send the same token again
    }
    state.abort(fx);
    let accept_language = state
        .config
        .lang
        .as_ref()
        .map(|_| state.i18n.lang.tag().to_owned());
    let api = ApiClient::new(state.config.api_url.clone(), token, accept_language);
    state.api = Some(api.clone());
    state.load = state.load.wrapping_add(1);
    state.show(Screen::Loading);
    fx.push(Effect::LoadSession {
        load: state.load,
        api,
    });
}

fn session_loaded(
    state: &mut State,
    session: SessionSettings,
    mut integrations: Vec<ApiPublicIntegration>,
    fx: &mut Vec<Effect>,
) {
    let settings = &session.connect_ui_settings;
    let choice = state
        .config
        .theme
        .or_else(|| ThemeChoice::parse(&settings.default_theme))
        .unwrap_or(ThemeChoice::System);
    fx.push(Effect::ApplyTheme(choice, Some(settings.theme.clone())));
    state.single = session
        .allowed_integrations
        .as_ref()
        .is_some_and(|a| a.len() == 1)
        && integrations.len() == 1;
    state.session = Some(session);
    if state.single {
        if let Some(only) = integrations.pop() {
            fx.push(Effect::LoadProvider(only));
            return;
        }
    }
    state.integrations = integrations.clone();
    state.show(Screen::List(integrations));
}

/// API key, basic, client credentials and the other forms without a popup.
fn submit(
    state: &mut State,
    selected: Arc<Selected>,
    submission: Submission,
    fx: &mut Vec<Effect>,
) {
    let Some(api) = state.api.clone() else {
        return;
    };
    let mode = &selected.provider.auth_mode;
    let Some(route) = latchkey_protocol::routes::credentials(mode) else {
        return;
    };
    // As `@nangohq/frontend`: these bodies carry the credentials' `type`.
    let mut submission = submission;
    if matches!(
        mode,
        AuthMode::TwoStep | AuthMode::Jwt | AuthMode::Signature
    ) {
        submission
            .credentials
            .insert(0, ("type".to_owned(), mode.as_str().to_owned()));
    }
    state.abort(fx);
    state.set_alert(None);
    state.connecting = true;
    let key = selected.integration.unique_key.clone();
    let attempt = state.begin(selected);
    fx.push(Effect::SubmitCredentials {
        attempt,
        api,
        route,
        key,
        submission,
    });
}

/// Notices a popup the user closed: once it has read as closed for [`POPUP_CLOSED_GRACE_MS`]
/// without a result, the attempt is reported as `window_closed` (the inline alert, with the Connect
/// button to retry, and one `error` event). The flow keeps listening all the same: a provider page
/// with `Cross-Origin-Opener-Policy` makes an open popup read as closed, and a result that still
/// comes wins.
fn watch_popup(state: &mut State, closed: bool, fx: &mut Vec<Effect>) {
    state.closed_ms = if closed {
        state.closed_ms + POPUP_WATCH_MS
    } else {
        0
    };
    if state.closed_ms <= POPUP_CLOSED_GRACE_MS {
        fx.push(Effect::WatchPopup {
            attempt: state.attempt,
        });
        return;
    }
    state.connecting = false;
    if let Some(selected) = state.target.clone() {
        let closed = AuthError::new(AuthErrorType::WindowClosed.as_str(), "");
        let failure = Failure::from_auth_error(&closed, state.i18n);
        report(state, selected, failure, fx);
    }
}

/// The answer of the current attempt: success, or the failure in the user's words.
fn conclude(state: &mut State, result: Result<ConnectPayload, Failure>, fx: &mut Vec<Effect>) {
    let Some(selected) = state.target.take() else {
        return;
    };
    match result {
        Ok(payload) => {
            fx.push(Effect::Post(ConnectUiEvent::Connect { payload }));
            state.dirty = false;
            state.draft = None;
            state.show(Screen::Success(selected));
        }
        Err(failure) => report(state, selected, failure, fx),
    }
}

/// Posts the one `error` event of a failed attempt and shows it.
fn report(state: &mut State, selected: Arc<Selected>, failure: Failure, fx: &mut Vec<Effect>) {
    fx.push(Effect::Post(ConnectUiEvent::Error {
        payload: ErrorPayload {
            error_type: failure.error_type.clone(),
            error_message: failure.message.clone(),
        },
    }));
    match failure.shown {
        Shown::SessionExpired => state.show(Screen::Notice(Notice::SessionExpired)),
        Shown::Inline => state.set_alert(Some(failure)),
        Shown::Screen => state.show(Screen::Failure(selected, failure)),
    }
}

/// `prefix` (may be `/` or empty) joined with the absolute `path`.
fn join_paths(prefix: &str, path: &str) -> String {
    let mut joined = prefix.trim_end_matches('/').to_owned();
    if !path.starts_with('/') {
        joined.push('/');
    }
    joined.push_str(path);
    joined
}
