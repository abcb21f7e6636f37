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

use latchkey_protocol::events::ParentMessage;
use wasm_bindgen::prelude::*;

use super::auth_error::to_js;
use super::Options;
use crate::browser::{self, get, js, JsFields, Url};
use crate::glue;
use crate::logic::messages::{self, ConnectUiAction, Incoming};
use crate::logic::urls::{self, ConnectUiQuery};
use crate::logic::wire;
use crate::AuthError;

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
    /// `redirect.returnUrl`: where "continue in this window" comes back to.
    return_url: Option<String>,
    detect_closed_auth_window: bool,
    on_event: Option<JsValue>,
    // State in `Cell`s, not `RefCell`s: a `RefCell` would ship its panic-formatting code.
    session_token: Cell<Option<String>>,
    /// The `<iframe>` element while open.
    iframe: Cell<Option<JsValue>>,
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
            Some(iframe) if get(&iframe, "isConnected").and_then(|c| c.as_bool()) == Some(true) => {
                return Ok(())
            }
            Some(_) => self.close(),
            None => {}
        }
        let window = window()?;
        let url = Url::parse(&self.inner.base_url, "")
            .ok_or_else(|| to_js(&AuthError::invalid_host_url()))?;
        url.set_field(
            "pathname",
            &urls::with_trailing_slash(&url.field("pathname")),
        );
        let parent_origin = get(&window, "location")
            .and_then(|location| browser::get_string(&location, "origin"))
            .unwrap_or_default();
        let query = ConnectUiQuery {
            api_url: &self.inner.api_url,
            parent_origin: &parent_origin,
            detect_closed_auth_window: self.inner.detect_closed_auth_window,
            lang: self.inner.lang.as_deref(),
            theme: self.inner.theme.as_deref(),
            return_url: self.inner.return_url.as_deref(),
        };
        url.append(query.pairs());

        glue::listen(self.inner.listener.as_ref());
        let iframe = glue::mount_iframe(&js(&url.href()));

        self.inner.iframe.set(Some(iframe));
        self.inner.origin.set(url.field("origin"));
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
    pub fn set_session_token(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
    ) {
        self.inner.session_token.set(token.as_string());
        self.inner.send_session_token();
    }

    // The iframe element while open, else `null`.
    #[wasm_bindgen(getter, skip_jsdoc)]
    pub fn iframe(&self) -> JsValue {
        peek(&self.inner.iframe).unwrap_or(JsValue::NULL)
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
                return_url: get(&props.0, "redirect")
                    .and_then(|r| browser::get_string(&r, "returnUrl")),
                detect_closed_auth_window: props.boolean("detectClosedAuthWindow"),
                on_event: props.function("onEvent"),
                session_token: Cell::new(props.string("sessionToken").or(default_token)),
                iframe: Cell::new(None),
                origin: Cell::new(String::new()),
                ready: Cell::new(false),
                keep_alive: Cell::new(None),
                listener: Closure::new(move |event: JsValue| {
                    if let Some(inner) = weak.upgrade() {
                        inner.on_message(event);
                    }
                }),
            }
        });
        ConnectUi { inner }
    }
}

impl Inner {
    fn on_message(&self, event: JsValue) {
        let data = get(&event, "data").unwrap_or_default();
        let origin = peek(&self.origin);
        let from_our_window = match (get(&event, "source"), self.content_window()) {
            (Some(source), Some(ours)) => source == ours,
            _ => false,
        };
        let incoming = Incoming {
            origin: &browser::get_string(&event, "origin").unwrap_or_default(),
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
            glue::call(on_event, &data);
        }
    }

    fn content_window(&self) -> Option<JsValue> {
        peek(&self.iframe).and_then(|f| get(&f, "contentWindow"))
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
        glue::post(&target, &message.0, &js(&peek(&self.origin)));
    }

    fn close(&self) {
        if browser::window().is_none() {
            return;
        }
        glue::unlisten(self.listener.as_ref());
        let Some(iframe) = self.iframe.take() else {
            return;
        };
        glue::unmount_iframe(&iframe);
        self.ready.set(false);
        // Letting go of the self-reference may free this instance once the caller's borrow ends.
        drop(self.keep_alive.take());
    }
}

fn window() -> Result<JsValue, JsValue> {
    browser::window().ok_or_else(|| glue::js_error(&js("No browser window")))
}
