//! Runs the pure [`crate::flow`] machine in the page: feeds it events (clicks from the views, API
//! answers, timers, the parent's token), mirrors the state the views watch into signals, and
//! performs its effects (API calls through [`crate::api`], the OAuth popup, timers, `postMessage`).
//! The decisions are all in `flow`; this file only knows how to do things in a browser.
//!
//! Views read [`Controller::screen`], [`Controller::connecting`] and [`Controller::alert`] and call
//! its methods; they never post to the parent or talk to the API themselves. The OAuth popup is
//! opened synchronously inside [`Controller::connect`], which must be called directly from the click
//! handler (popup blockers only allow `window.open` in a user gesture): [`Effect::StartOAuth`] is
//! performed within the same call, never in a spawned future.

use std::cell::RefCell;
use std::sync::Arc;

use latchkey_protocol::integrations::ApiPublicIntegration;
use latchkey_sdk::{start_oauth, OAuthCanceller};
use reactive_graph::prelude::*;
use reactive_graph::signal::RwSignal;

use crate::api::ApiFailure;
use crate::config::LaunchConfig;
use crate::dom::{set_timeout, spawn_local};
use crate::flow::{self, Effect, Event, Failure, Screen, Selected, State};
use crate::form::Submission;
use crate::i18n::I18n;
use crate::parent::ParentChannel;
use crate::theme;

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
}

/// Owner of the flow; `Copy` (signal handles and [`Slot`]s), handed to every view.
#[derive(Clone, Copy)]
pub struct Controller {
    /// [`State::screen`], re-set each time the flow sets it.
    pub screen: RwSignal<Screen>,
    /// [`State::connecting`].
    pub connecting: RwSignal<bool>,
    /// [`State::alert`].
    pub alert: RwSignal<Option<Failure>>,
    pub i18n: I18n,
    state: Slot<State>,
    parent: Slot<ParentChannel>,
    /// The running OAuth flow, which [`Effect::Cancel`] cancels and [`Effect::WatchPopup`] looks at.
    running: Slot<Option<OAuthCanceller>>,
}

impl Controller {
    pub fn new(config: LaunchConfig, i18n: I18n) -> Self {
        let parent = match (&config.hosting, web_sys::window()) {
            (
                crate::config::Hosting::Embedded {
                    parent_origin: Some(origin),
                },
                Some(window),
            ) => ParentChannel::to_parent(&window, origin),
            _ => ParentChannel::none(),
        };
        let api_path = web_sys::Url::new(&config.api_url)
            .map(|u| u.pathname())
            .unwrap_or_default();
        Self {
            screen: RwSignal::new(Screen::Loading),
            connecting: RwSignal::new(false),
            alert: RwSignal::new(None),
            i18n,
            state: Slot::new(State::new(config, i18n, api_path)),
            parent: Slot::new(parent),
            running: Slot::new(None),
        }
    }

    /// Embedded with a parent we can talk to: show the close button, post events.
    pub fn can_close(&self) -> bool {
        self.parent.with_value(ParentChannel::is_connected)
    }

    /// Opened from a connect link (top-level tab).
    pub fn is_connect_link(&self) -> bool {
        self.state.with_value(|s| !s.config.is_embedded())
    }

    /// The integration screen was reached directly (single allowed integration): no Back link.
    pub fn single(&self) -> bool {
        self.state.with_value(|s| s.single)
    }

    /// The form holds unsent input: closing asks first.
    pub fn dirty(&self) -> bool {
        self.state.with_value(|s| s.dirty)
    }

    /// The values typed for `key` before a failure (for "Try again"), if there are `len` of them.
    pub fn draft(&self, key: &str, len: usize) -> Option<Vec<String>> {
        self.state.with_value(|s| {
            s.draft
                .as_ref()
                .filter(|(k, v)| k == key && v.len() == len)
                .map(|(_, v)| v.clone())
        })
    }

    /// The session's preset connection config for `integration`.
    pub fn presets(self, integration: &str) -> Vec<(String, String)> {
        self.state.with_value(|s| s.presets(integration).to_vec())
    }

    /// The popup was blocked and the page gave a `returnUrl`: "continue in this window" is offered.
    pub fn can_continue_here(&self) -> bool {
        self.state.with_value(|s| s.config.return_url.is_some())
    }

    /// Starts listening for the session token (embedded) or takes it from the URL (connect link).
    pub fn boot(self) {
        self.dispatch(Event::Boot);
    }

    /// Posts `ready` to the embedding page, once the first screen is in the DOM: the same moment as
    /// Nango's Connect UI (its home view's mount effect, after React's first commit), so a parent
    /// that shows the iframe on `ready` never shows an empty frame. Nothing when not embedded.
    pub fn announce_ready(self) {
        self.dispatch(Event::Rendered);
    }

    /// The form changed (its values in field order, and whether they differ from the first ones).
    pub fn edited(self, key: String, values: Vec<String>, dirty: bool) {
        self.dispatch(Event::Edited { key, values, dirty });
    }

    /// Submits API key / basic / client credentials (no popup).
    pub fn submit(self, selected: Arc<Selected>, submission: Submission) {
        self.dispatch(Event::Submit {
            selected,
            submission,
        });
    }

    /// Opens the OAuth popup NOW (call only from a click or submit handler), then waits for the
    /// result. `params` is the connection config the form collected (e.g. a Zendesk subdomain).
    pub fn connect(self, selected: Arc<Selected>, params: Vec<(String, String)>) {
        self.dispatch(Event::Connect { selected, params });
    }

    /// Redirect mode, after a blocked popup (call from the click: navigating the top window from a
    /// frame needs the user's gesture). The whole page goes through the provider and back to the
    /// `returnUrl`, where the customer's page reads the outcome with `handleRedirectResult()`.
    pub fn continue_here(self, selected: Arc<Selected>, params: Vec<(String, String)>) {
        self.dispatch(Event::ContinueHere { selected, params });
    }

    /// Back from the integration screen to the list.
    pub fn back(self) {
        self.dispatch(Event::Back);
    }

    /// "Try again" on the failure screen: the form again, with the values the user typed.
    pub fn retry(self, selected: Arc<Selected>) {
        self.dispatch(Event::Retry(selected));
    }

    /// X button, Escape, Finish: tell the parent to remove the iframe.
    pub fn close(self) {
        self.dispatch(Event::Close);
    }

    /// One step of the machine: the views' signals follow the new state, then the effects run in
    /// order (an effect may dispatch the next event at once, as [`Effect::StartOAuth`] does).
    fn dispatch(self, event: Event) {
        let (effects, screen, connecting, alert) = self.state.update_value(|s| {
            let effects = flow::step(s, event);
            let screen = std::mem::take(&mut s.redraw).then(|| s.screen.clone());
            let alert = std::mem::take(&mut s.realert).then(|| s.alert.clone());
            (effects, screen, s.connecting, alert)
        });
        // Signals are set outside the borrow: their watches may read the state.
        if let Some(alert) = alert {
            self.alert.set(alert);
        }
        if self.connecting.get_untracked() != connecting {
            self.connecting.set(connecting);
        }
        if let Some(screen) = screen {
            self.screen.set(screen);
        }
        for effect in effects {
            self.perform(effect);
        }
    }

    fn perform(self, effect: Effect) {
        match effect {
            Effect::Post(event) => self.parent.with_value(|p| p.post(&event)),
            Effect::ApplyTheme(choice, palette) => theme::apply(choice, palette.as_ref()),
            Effect::AwaitToken => {
                self.parent.with_value(|p| {
                    p.listen_for_session_token(move |token| self.dispatch(Event::Token(token)))
                });
                set_timeout(
                    Box::new(move || self.dispatch(Event::TokenWaitElapsed)),
                    flow::SESSION_TOKEN_WAIT_MS,
                );
            }
            Effect::LoadSession { load, api } => spawn_local(async move {
                // Both requests are sent before either is awaited.
                let (session, integrations) = (api.connect_session(), api.integrations());
                let result = match (session.await, integrations.await) {
                    (Ok(session), Ok(integrations)) => Ok((session, integrations)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
                self.dispatch(Event::SessionLoaded { load, result });
            }),
            Effect::LoadProvider(integration) => spawn_local(async move {
                self.load_provider(integration).await;
            }),
            Effect::SubmitCredentials {
                attempt,
                api,
                route,
                key,
                submission,
            } => {
                let sent = api.submit_credentials(route, &key, &submission);
                spawn_local(async move {
                    let result = sent.await;
                    self.dispatch(Event::Submitted { attempt, result });
                });
            }
            Effect::StartOAuth { attempt, request } => match start_oauth(request) {
                Err(error) => self.dispatch(Event::OAuthResult {
                    attempt,
                    result: Err(error),
                }),
                Ok(flow) => {
                    self.running.update_value(|r| *r = Some(flow.canceller()));
                    self.dispatch(Event::OAuthStarted { attempt });
                    spawn_local(async move {
                        let result = flow.wait().await;
                        self.dispatch(Event::OAuthResult { attempt, result });
                    });
                }
            },
            Effect::Cancel => {
                if let Some(canceller) = self.running.update_value(Option::take) {
                    canceller.cancel();
                }
            }
            Effect::WatchPopup { attempt } => set_timeout(
                Box::new(move || {
                    let closed = self
                        .running
                        .with_value(|r| r.as_ref().is_none_or(OAuthCanceller::popup_closed));
                    self.dispatch(Event::PopupWatch { attempt, closed });
                }),
                flow::POPUP_WATCH_MS,
            ),
            Effect::Redirect { attempt, request } => {
                let target = web_sys::window().and_then(|w| w.top().ok().flatten());
                match (latchkey_sdk::redirect_url(request), target) {
                    (Ok(href), Some(top)) => {
                        let _ = top.location().set_href(&href);
                    }
                    (Err(error), _) => self.dispatch(Event::OAuthResult {
                        attempt,
                        result: Err(error),
                    }),
                    (Ok(_), None) => {}
                }
            }
        }
    }

    /// Loads the provider of `integration` (the single one, or the list's choice) with the current
    /// token, then lets the flow show it. `false` when it failed with anything but 401 (which the
    /// flow turns into the "session expired" screen): the list shows its own alert then.
    pub fn load_provider(
        self,
        integration: ApiPublicIntegration,
    ) -> impl std::future::Future<Output = bool> {
        let (load, api) = self.state.with_value(|s| (s.load, s.api.clone()));
        async move {
            let Some(api) = api else {
                return true;
            };
            let result = api
                .provider(&integration.provider)
                .await
                .map(|provider| Selected {
                    integration,
                    provider,
                });
            let ok = !matches!(&result, Err(e) if *e != ApiFailure::SessionExpired);
            self.dispatch(Event::ProviderLoaded { load, result });
            ok
        }
    }
}
