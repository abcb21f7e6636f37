//! The OAuth popup flow in the browser: [`start_oauth`] and [`OAuthFlow`] (PROTOCOL.md §5).
//!
//! This module is the glue between the browser and [`crate::logic::flow::FlowMachine`]: it opens the
//! popup and the result WebSocket, listens on both result channels (WebSocket frames and the callback
//! page's `postMessage`), feeds every happening to the machine and carries out what it decides. It
//! owns every listener, timer and handle of one attempt, and releases all of them when the attempt
//! ends, whichever way it ends (result, failure, [`OAuthFlow::cancel`], drop).
//!
//! Rules it must keep: the popup opens synchronously in `start_oauth`; a `postMessage` counts only
//! from the popup window at the API host's exact origin, and is acknowledged to that origin only;
//! the session token travels only in the popup's URL to our own API, never to a log.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

use latchkey_protocol::events::ConnectPayload;
use wasm_bindgen::prelude::*;

use crate::browser::{self, js, JsFields, Url};
use crate::glue;
use crate::logic::flow::{
    FlowAction, FlowEvent, FlowMachine, ACK_TIMEOUT_MS, POPUP_CLOSE_DELAY_MS, POPUP_POLL_MS,
};
use crate::logic::layout::PopupLayout;
use crate::logic::messages::{self, Incoming};
use crate::logic::OAuthRequest;
use crate::logic::{urls, wire};
use crate::AuthError;

/// A running OAuth flow; dropping it (or [`OAuthFlow::cancel`]) closes the popup and the socket.
pub struct OAuthFlow {
    attempt: Rc<Attempt>,
}

/// Cancels a running flow from elsewhere (e.g. when the UI that started it goes away while
/// [`OAuthFlow::wait`] owns the flow). Does nothing once the flow is over.
#[derive(Clone)]
pub struct OAuthCanceller(Weak<Attempt>);

/// Opens the popup **synchronously** (call it directly inside the user's click handler, before any
/// `await`), then starts the flow. Fails with `blocked_by_browser` when the popup could not open.
pub fn start_oauth(mut req: OAuthRequest) -> Result<OAuthFlow, AuthError> {
    if req.connect_session_token.is_empty() && req.public_key.is_empty() {
        return Err(AuthError::missing_auth_token());
    }
    with_page_origin(&mut req)?;

    // Everything that can fail without a visible effect is checked before the popup opens.
    let connect_url = browser::api_route_url(
        &req.host,
        latchkey_protocol::routes::OAUTH_CONNECT,
        &req.provider_config_key,
    )?;
    let api_origin = connect_url.field("origin");
    let ws_url = Url::parse(
        urls::websockets_path(&req.websockets_path),
        urls::normalize_host(&req.host),
    )
    .ok_or_else(AuthError::invalid_host_url)?;
    let ws_protocol =
        urls::ws_protocol(&ws_url.field("protocol")).ok_or_else(AuthError::invalid_host_url)?;
    ws_url.set_field("protocol", ws_protocol);

    let popup = open_popup(req.width, req.height)?;
    let attempt = Rc::new(Attempt {
        machine: Cell::new(FlowMachine::new(req.detect_closed_auth_window)),
        connect_url: connect_url.href(),
        api_origin,
        req,
        popup,
        socket: Cell::new(JsValue::UNDEFINED),
        outcome: Cell::new(None),
        waker: Cell::new(None),
        on_settled: Cell::new(None),
        timers: Cell::new(JsValue::UNDEFINED),
        listeners: Cell::new(None),
    });
    if !attempt.listen(&ws_url.href()) {
        // The socket could not even be created: end everything before reporting.
        attempt.release();
        return Err(AuthError::invalid_host_url());
    }
    Ok(OAuthFlow { attempt })
}

/// `req.opener_origin`, when empty, becomes the current page's origin. An opaque origin serializes
/// as "null": the server ignores it (WebSocket only).
fn with_page_origin(req: &mut OAuthRequest) -> Result<(), AuthError> {
    let window = browser::window().ok_or_else(|| AuthError::unknown("No browser window"))?;
    if req.opener_origin.is_empty() {
        req.opener_origin = browser::get(&window, "location")
            .and_then(|location| browser::get_string(&location, "origin"))
            .unwrap_or_default();
    }
    Ok(())
}

/// Redirect mode (no popup): the URL to send the whole page to, `GET /oauth/connect/:key?…&
/// return_url=…`. The server checks `return_url` against the environment's allowed origins and,
/// once the flow ends, sends the browser back there with a single-use result id that
/// `handleRedirectResult()` redeems. `req.return_url` must be set.
pub fn redirect_url(mut req: OAuthRequest) -> Result<String, AuthError> {
    if req.connect_session_token.is_empty() && req.public_key.is_empty() {
        return Err(AuthError::missing_auth_token());
    }
    with_page_origin(&mut req)?;
    let url = browser::api_route_url(
        &req.host,
        latchkey_protocol::routes::OAUTH_CONNECT,
        &req.provider_config_key,
    )?;
    let pairs = req.query(None).pairs();
    url.append(pairs.iter().map(|(name, value)| (&**name, *value)));
    Ok(url.href())
}

impl OAuthFlow {
    /// Resolves with the connection once the server reports success (WebSocket frame or the callback
    /// page's `postMessage`, whichever comes first); rejects with a typed [`AuthError`] otherwise.
    pub async fn wait(self) -> Result<ConnectPayload, AuthError> {
        poll_fn(|cx| match self.attempt.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                self.attempt.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }

    /// Closes the popup and the socket; safe to call at any time.
    pub fn cancel(&self) {
        self.attempt.dispatch(FlowEvent::Cancelled);
    }

    /// Like [`OAuthFlow::wait`], with a callback instead of a future (for the JS façade, which then
    /// needs no async executor). The flow rides inside its own callback, so the attempt stays alive
    /// until it settles, and is released right after.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn on_settled(self, f: impl FnOnce(Result<ConnectPayload, AuthError>) + 'static) {
        if let Some(outcome) = self.attempt.outcome.take() {
            return f(outcome);
        }
        let attempt = self.attempt.clone();
        attempt.on_settled.set(Some(Box::new(move |outcome| {
            let _flow = self;
            f(outcome)
        })));
    }

    /// A handle that can cancel this flow after it has been moved into [`OAuthFlow::wait`].
    pub fn canceller(&self) -> OAuthCanceller {
        OAuthCanceller(Rc::downgrade(&self.attempt))
    }
}

impl Drop for OAuthFlow {
    fn drop(&mut self) {
        self.attempt.dispatch(FlowEvent::Cancelled);
    }
}

impl OAuthCanceller {
    /// Cancels the flow (rejecting its waiter) if it is still running.
    pub fn cancel(&self) {
        if let Some(attempt) = self.0.upgrade() {
            attempt.dispatch(FlowEvent::Cancelled);
        }
    }

    /// Whether the flow's popup reads as closed (`true` once the flow is over). Unlike the flow
    /// itself (which, as Nango, trusts `closed` only with `detectClosedAuthWindow`), a UI may use this
    /// to offer a retry: a provider page with `Cross-Origin-Opener-Policy` makes an open popup read
    /// as closed too, so it should not end the flow on it.
    pub fn popup_closed(&self) -> bool {
        self.0
            .upgrade()
            .is_none_or(|attempt| glue::is_closed(&attempt.popup))
    }
}

/// `window.open('', '_blank', features)` with Nango's centred layout.
fn open_popup(width: u32, height: u32) -> Result<JsValue, AuthError> {
    // `as u32` saturates: a negative or NaN size reads as 0.
    let dimension = |i| glue::screen_dim(i) as u32;
    let layout = PopupLayout::centred(width, height, dimension(0), dimension(1));
    let popup = glue::open_blank(&js(&layout.features()));
    if popup.is_undefined() {
        Err(AuthError::blocked_by_browser())
    } else {
        Ok(popup)
    }
}

/// One OAuth attempt: its handles, its state machine and its listeners.
struct Attempt {
    machine: Cell<FlowMachine>,
    req: OAuthRequest,
    /// `/oauth/connect/:key` on the API host; the query is added once the `ws_client_id` is known.
    connect_url: String,
    api_origin: String,
    /// The popup window (opaque: only `glue` touches it).
    popup: JsValue,
    /// The result WebSocket (opaque: only `glue` touches it).
    socket: Cell<JsValue>,
    outcome: Cell<Option<Result<ConnectPayload, AuthError>>>,
    waker: Cell<Option<Waker>>,
    /// Who gets the outcome instead of `wait()` (the JS façade, which needs no async executor).
    on_settled: Cell<Option<SettledCallback>>,
    /// The popup poll interval and the acknowledgement timeout (opaque handle for `glue`).
    timers: Cell<JsValue>,
    /// Kept for the attempt's lifetime; each holds only a `Weak` back-reference, so no cycle.
    /// (`Cell`s, not `RefCell`s, throughout: a `RefCell` would ship its panic-formatting code.)
    listeners: Cell<Option<Listeners>>,
}

type SettledCallback = Box<dyn FnOnce(Result<ConnectPayload, AuthError>)>;

/// What woke one of the attempt's listeners.
#[derive(Clone, Copy)]
enum Signal {
    WsMessage,
    SocketLost,
    WindowMessage,
    PollPopup,
    AckTimeout,
}

/// The attempt's JS callbacks, all of one closure type (one set of wasm-bindgen shims).
struct Listeners {
    ws_message: Closure<dyn FnMut(JsValue)>,
    ws_lost: Closure<dyn FnMut(JsValue)>,
    window_message: Closure<dyn FnMut(JsValue)>,
    poll_popup: Closure<dyn FnMut(JsValue)>,
    ack_timeout: Closure<dyn FnMut(JsValue)>,
}

/// A callback that feeds `signal` to the attempt, if it still exists.
fn listener(weak: &Weak<Attempt>, signal: Signal) -> Closure<dyn FnMut(JsValue)> {
    let weak = weak.clone();
    Closure::new(move |arg: JsValue| {
        if let Some(attempt) = weak.upgrade() {
            attempt.on_signal(signal, arg)
        }
    })
}

impl Attempt {
    /// Opens the result socket and starts every listener and timer of the attempt; `false` when the
    /// socket could not even be created.
    fn listen(self: &Rc<Self>, ws_url: &str) -> bool {
        let weak = Rc::downgrade(self);
        let l = Listeners {
            ws_message: listener(&weak, Signal::WsMessage),
            ws_lost: listener(&weak, Signal::SocketLost),
            window_message: listener(&weak, Signal::WindowMessage),
            poll_popup: listener(&weak, Signal::PollPopup),
            ack_timeout: listener(&weak, Signal::AckTimeout),
        };
        let socket = glue::open_socket(&js(ws_url), l.ws_message.as_ref(), l.ws_lost.as_ref());
        let started = !socket.is_undefined();
        if started {
            self.socket.set(socket);
            glue::listen(l.window_message.as_ref());
            self.timers.set(glue::start_timers(
                l.poll_popup.as_ref(),
                POPUP_POLL_MS,
                l.ack_timeout.as_ref(),
                ACK_TIMEOUT_MS,
            ));
        }
        // Stored whatever happened: whatever JS was given must stay callable until `release`.
        self.listeners.set(Some(l));
        started
    }

    fn on_signal(self: &Rc<Self>, signal: Signal, arg: JsValue) {
        match signal {
            Signal::WsMessage => self.on_ws_message(arg),
            Signal::SocketLost => self.dispatch(FlowEvent::SocketLost),
            Signal::WindowMessage => self.on_window_message(arg),
            Signal::PollPopup if glue::is_closed(&self.popup) => {
                self.dispatch(FlowEvent::PopupClosed)
            }
            Signal::PollPopup => {}
            Signal::AckTimeout => self.dispatch(FlowEvent::AckTimedOut),
        }
    }

    /// `frame` is already parsed from JSON (by `glue::open_socket`).
    fn on_ws_message(self: &Rc<Self>, frame: JsValue) {
        // Frames we do not know are ignored, as Nango does.
        if let Some(frame) = wire::read_ws_message(&JsFields(frame)) {
            self.dispatch(messages::ws_event(frame));
        }
    }

    fn on_window_message(self: &Rc<Self>, event: JsValue) {
        let data = browser::get(&event, "data").unwrap_or_default();
        let incoming = Incoming {
            origin: &browser::get_string(&event, "origin").unwrap_or_default(),
            from_our_window: browser::get(&event, "source").is_some_and(|s| s == self.popup),
            has_type: browser::has_string_type(&data),
        };
        if messages::admit(incoming, &self.api_origin).is_err() {
            return;
        }
        let Some(result) =
            wire::read_callback_message(&JsFields(data)).and_then(messages::callback_result)
        else {
            return;
        };
        // Tell the callback page it may close, at the exact origin it posted from (never '*').
        glue::post(
            &self.popup,
            &wire::write_callback_ack::<JsFields>().0,
            &js(&self.api_origin),
        );
        self.dispatch(FlowEvent::Result(result));
    }

    /// Feeds one event to the machine and carries out its decision.
    fn dispatch(self: &Rc<Self>, event: FlowEvent) {
        let popup_closed = glue::is_closed(&self.popup);
        let mut machine = self.machine.get();
        let action = machine.on(event, popup_closed);
        self.machine.set(machine);
        match action {
            FlowAction::Nothing => {}
            FlowAction::Navigate(ws_client_id) => {
                if !self.navigate(&ws_client_id) {
                    self.dispatch(FlowEvent::Result(Err(AuthError::blocked_by_browser())));
                }
            }
            FlowAction::Settle(outcome) => {
                self.release();
                let callback = self.on_settled.take();
                match callback {
                    Some(callback) => callback(outcome),
                    None => {
                        self.outcome.set(Some(outcome));
                        if let Some(waker) = self.waker.take() {
                            waker.wake();
                        }
                    }
                }
            }
        }
    }

    /// Sends the popup to `/oauth/connect/:key?connect_session_token=…[&params[k]=v]…&ws_client_id=…`.
    fn navigate(&self, ws_client_id: &str) -> bool {
        let Some(url) = Url::parse(&self.connect_url, "") else {
            return false;
        };
        let pairs = self.req.query(Some(ws_client_id)).pairs();
        url.append(pairs.iter().map(|(name, value)| (&**name, *value)));
        glue::navigate(&self.popup, &js(&url.href()))
    }

    /// Ends everything the attempt started. The popup closes after a short delay, so the callback
    /// page can post its message to the Connect UI first (as Nango).
    fn release(&self) {
        let timers = self.timers.take();
        if !timers.is_undefined() {
            glue::stop_timers(&timers);
        }
        let socket = self.socket.take();
        if !socket.is_undefined() {
            glue::close_socket(&socket);
        }
        // The closures stay alive (and unreachable from JS) until the attempt is dropped.
        let listeners = self.listeners.take();
        if let Some(l) = &listeners {
            glue::unlisten(l.window_message.as_ref());
        }
        self.listeners.set(listeners);
        glue::close_later(&self.popup, POPUP_CLOSE_DELAY_MS);
    }
}
