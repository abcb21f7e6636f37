//! Messaging with the embedding page (PROTOCOL.md §7): the only place that calls `postMessage` or
//! listens to `message` events.
//!
//! Exact origins both ways: we post only to the validated `parentOrigin` (never `'*'`) and accept a
//! `session_token` only when `event.origin` equals it AND `event.source` is our parent window. In a
//! connect link (top-level tab) there is no parent and every post is a no-op.

use latchkey_protocol::events::{ConnectUiEvent, ParentMessage};
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Window};

use crate::wire::JsObject;

/// The embedding page, if we may talk to it.
#[derive(Debug, Clone)]
pub struct ParentChannel {
    target: Option<(Window, String)>,
}

impl ParentChannel {
    /// A channel to `window.parent` at exactly `parent_origin`.
    pub fn to_parent(window: &Window, parent_origin: &str) -> Self {
        let parent = window.parent().ok().flatten();
        Self {
            target: parent.map(|p| (p, parent_origin.to_owned())),
        }
    }

    /// No parent to talk to (connect link, or an iframe without a valid `parentOrigin`).
    pub fn none() -> Self {
        Self { target: None }
    }

    pub fn is_connected(&self) -> bool {
        self.target.is_some()
    }

    /// Posts `event` to the parent at its exact origin.
    pub fn post(&self, event: &ConnectUiEvent) {
        let Some((parent, origin)) = &self.target else {
            return;
        };
        let message: JsObject = latchkey_protocol::codec::write_connect_ui_event(event);
        let _ = parent.post_message(&message.0, origin);
    }

    /// Calls `on_token` for every well-formed `session_token` message from the parent. The listener
    /// belongs to the owner it is added under: the root one, so it lives as long as the page.
    pub fn listen_for_session_token(&self, on_token: impl Fn(String) + 'static) {
        let Some((parent, origin)) = self.target.clone() else {
            return;
        };
        let Some(window) = web_sys::window() else {
            return;
        };
        crate::dom::on(
            &window,
            "message",
            Box::new(move |event| {
                let Some(event) = event.dyn_ref::<MessageEvent>() else {
                    return;
                };
                if event.origin() != origin {
                    return;
                }
                let from_parent = event
                    .source()
                    .is_some_and(|source| js_sys::Object::is(&source, &parent));
                if !from_parent {
                    return;
                }
                if let Some(ParentMessage::SessionToken { session_token }) =
                    latchkey_protocol::codec::read_parent_message(&JsObject(event.data()))
                {
                    on_token(session_token);
                }
            }),
        );
    }
}
