//! The `ConnectUI` class (reference §1.8, PROTOCOL.md §7): the Connect UI in a full-screen iframe,
//! and the `postMessage` conversation with it.
//!
//! Security rules it keeps: the session token never goes into the iframe URL; it is posted only to
//! the iframe's window and only to `baseURL`'s exact origin (never `'*'`); an incoming message counts
//! only if its `origin` is that origin AND its `source` is that iframe's window.
//!
//! While open, the instance keeps itself alive (the window listener needs it even if the page drops
//! its reference, as with `nango.openConnectUI({...})` whose result is ignored); `close()` lets go.

use std::cell::Cell;
use std::rc::{Rc, Weak};

use js_sys::Function;
use latchkey_protocol::events::ParentMessage;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlIFrameElement, MessageEvent, Url, Window};

use super::auth_error::to_js;
use super::Options;
use crate::browser::{self, JsFields};
use crate::glue;
use crate::logic::messages::{self, ConnectUiAction, Incoming};
use crate::logic::urls::{self, ConnectUiQuery};
use crate::logic::wire;
use crate::AuthError;

/// The iframe covers the page; the Connect UI draws its own backdrop.
const IFRAME_STYLE: &str =
    "position:fixed;z-index:9999;top:0;left:0;right:0;bottom:0;width:100vw;height:100vh;\
                            background-color:transparent;border:none";

// The Connect UI iframe wrapper.
#[wasm_bindgen(js_name = ConnectUI)]
pub struct ConnectUi {
    inner: Rc<Inner>,
}

struct Inner {
    base_url: String,
    api_url: String,
    lang: Option<String>,
    theme: Option<String>,
    detect_closed_auth_window: bool,
    on_event: Option<Function>,
    // State in `Cell`s, not `RefCell`s: a `RefCell` would ship its panic-formatting code.
    session_token: Cell<Option<String>>,
    iframe: Cell<Option<HtmlIFrameElement>>,
    /// `baseURL`'s origin, fixed when the iframe is created.
    origin: Cell<String>,
    /// The iframe said `ready`: the session token can be sent.
    ready: Cell<bool>,
    /// Strong self-reference while open (see the module doc).
    keep_alive: Cell<Option<Rc<Inner>>>,
    /// The window `message` listener; holds only a `Weak` back-reference.
    listener: Closure<dyn FnMut(JsValue)>,
}

/// A copy of a cell's value, leaving the cell as it was.
fn peek<T: Clone + Default>(cell: &Cell<T>) -> T {
    let value = cell.take();
    cell.set(value.clone());
    value
}

#[wasm_bindgen(js_class = ConnectUI)]
impl ConnectUi {
    // `new ConnectUI({sessionToken?, baseURL?, apiURL?, onEvent?, lang?, themeOverride?, detectClosedAuthWindow?})`.
    #[wasm_bindgen(constructor, skip_jsdoc)]
    pub fn new(props: JsValue) -> ConnectUi {
        Self::from_props(props, None)
    }

    // Creates the iframe and shows it; does nothing if it is already in the page.
    pub fn open(&self) -> Result<(), JsValue> {
        match peek(&self.inner.iframe) {
            Some(iframe) if iframe.is_connected() => return Ok(()),
            Some(_) => self.close(),
            None => {}
        }
        let window = window()?;
        let url =
            Url::new(&self.inner.base_url).map_err(|_| to_js(&AuthError::invalid_host_url()))?;
        url.set_pathname(&urls::with_trailing_slash(&url.pathname()));
        let parent_origin = window.location().origin()?;
        let query = ConnectUiQuery {
            api_url: &self.inner.api_url,
            parent_origin: &parent_origin,
            detect_closed_auth_window: self.inner.detect_closed_auth_window,
            lang: self.inner.lang.as_deref(),
            theme: self.inner.theme.as_deref(),
        };
        let search = url.search_params();
        for (name, value) in query.pairs() {
            search.append(name, value);
        }

        window.add_event_listener_with_callback(
            "message",
            self.inner.listener.as_ref().unchecked_ref(),
        )?;
        let iframe: HtmlIFrameElement =
            glue::mount_iframe(&url.href(), IFRAME_STYLE).unchecked_into();

        self.inner.iframe.set(Some(iframe));
        self.inner.origin.set(url.origin());
        self.inner.ready.set(false);
        self.inner.keep_alive.set(Some(self.inner.clone()));
        Ok(())
    }

    // Removes the iframe and the listener, and gives the page its scrolling back.
    pub fn close(&self) {
        self.inner.close();
    }

    // Sets the session token; sends it right away if the iframe is ready.
    #[wasm_bindgen(js_name = setSessionToken, skip_jsdoc)]
    pub fn set_session_token(&self, token: String) {
        self.inner.session_token.set(Some(token));
        self.inner.send_session_token();
    }

    // The iframe element while open, else `null`.
    #[wasm_bindgen(getter, skip_jsdoc)]
    pub fn iframe(&self) -> JsValue {
        peek(&self.inner.iframe).map_or(JsValue::NULL, JsValue::from)
    }
}

impl ConnectUi {
    /// Builds the instance from JS props; `default_token` is the `Nango` client's session token.
    pub(crate) fn from_props(props: JsValue, default_token: Option<String>) -> ConnectUi {
        let props = Options(props);
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let weak = weak.clone();
            Inner {
                base_url: props
                    .string("baseURL")
                    .unwrap_or_else(|| urls::DEFAULT_CONNECT_UI_URL.to_owned()),
                api_url: props
                    .string("apiURL")
                    .unwrap_or_else(|| urls::DEFAULT_HOST.to_owned()),
                lang: props.string("lang"),
                theme: props.string("themeOverride"),
                detect_closed_auth_window: props.boolean("detectClosedAuthWindow"),
                on_event: props.function("onEvent"),
                session_token: Cell::new(props.string("sessionToken").or(default_token)),
                iframe: Cell::new(None),
                origin: Cell::new(String::new()),
                ready: Cell::new(false),
                keep_alive: Cell::new(None),
                listener: Closure::new(move |event: JsValue| {
                    if let Some(inner) = weak.upgrade() {
                        inner.on_message(event.unchecked_into());
                    }
                }),
            }
        });
        ConnectUi { inner }
    }
}

impl Inner {
    fn on_message(&self, event: MessageEvent) {
        let data = event.data();
        let origin = peek(&self.origin);
        let from_our_window = match (event.source(), self.content_window()) {
            (Some(source), Some(ours)) => js_sys::Object::is(&source, &ours),
            _ => false,
        };
        let incoming = Incoming {
            origin: &event.origin(),
            from_our_window,
            has_type: browser::has_string_type(&data),
        };
        if messages::admit(incoming, &origin).is_err() {
            return;
        }
        let event = wire::read_connect_ui_signal(&JsFields(data.clone()));
        match ConnectUiAction::for_event(event.as_ref()) {
            ConnectUiAction::SendSessionToken => {
                self.ready.set(true);
                self.send_session_token();
            }
            ConnectUiAction::Close => self.close(),
            ConnectUiAction::ForwardOnly => {}
        }
        // The callback may call back into this instance (e.g. `close()`): no state is held here.
        if let Some(on_event) = &self.on_event {
            let _ = on_event.call1(&JsValue::UNDEFINED, &data);
        }
    }

    fn content_window(&self) -> Option<Window> {
        peek(&self.iframe).and_then(|f| f.content_window())
    }

    fn send_session_token(&self) {
        let Some(target) = self.content_window().filter(|_| self.ready.get()) else {
            return;
        };
        let Some(session_token) = peek(&self.session_token) else {
            return;
        };
        let message: JsFields =
            wire::write_parent_message(&ParentMessage::SessionToken { session_token });
        let _ = target.post_message(&message.0, &peek(&self.origin));
    }

    fn close(&self) {
        let Ok(window) = window() else { return };
        let _ = window
            .remove_event_listener_with_callback("message", self.listener.as_ref().unchecked_ref());
        let Some(iframe) = self.iframe.take() else {
            return;
        };
        glue::unmount_iframe(&iframe);
        self.ready.set(false);
        // Letting go of the self-reference may free this instance once the caller's borrow ends.
        drop(self.keep_alive.take());
    }
}

fn window() -> Result<Window, JsValue> {
    browser::window().ok_or_else(no_document)
}

fn no_document() -> JsValue {
    js_sys::Error::new("ConnectUI needs a browser window").into()
}
