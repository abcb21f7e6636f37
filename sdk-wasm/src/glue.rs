//! The few lines of JavaScript the SDK runs as plain JS: one `inline_js` module of browser plumbing.
//!
//! Only plumbing lives here, never a decision: open a window, a socket, timers, an iframe; hold the
//! `AuthError` class. Each wasm-bindgen import costs its own JS shim plus a hashed
//! import name in both the `.js` and the `.wasm` file, so batching a few DOM calls into one small JS
//! function here instead of calling each through `web-sys` is what keeps the SDK within its 25 KB
//! (gzip) budget. Which URL, which origin, what to send, what to accept, when to give up: all of
//! that stays in Rust (`crate::logic`, `crate::oauth`, `crate::js`).

#![cfg_attr(not(feature = "js"), allow(dead_code))]

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = "
export function page_window() { return typeof window === 'undefined' ? undefined : window; }
export function screen_size() { return [screen.width, screen.height]; }
export function open_blank(features) {
    const w = window.open('', '_blank', features);
    return w && !w.closed ? w : null;
}
export function navigate(w, href) { w.location.href = href; }
export function close_later(w, ms) { setTimeout(() => w.close(), ms); }
export function open_socket(url, on_message, on_lost) {
    const ws = new WebSocket(url);
    ws.onmessage = (e) => on_message(e.data);
    ws.onerror = ws.onclose = () => on_lost();
    return ws;
}
export function close_socket(ws) {
    ws.onmessage = ws.onerror = ws.onclose = null;
    ws.close();
}
export function start_timers(every, every_ms, once, once_ms) {
    return [setInterval(every, every_ms), setTimeout(once, once_ms)];
}
export function stop_timers(t) { clearInterval(t[0]); clearTimeout(t[1]); }

let AuthErrorClass = null;
export function set_auth_error_class(c) { AuthErrorClass = c; }
export function make_auth_error(message, type) {
    if (AuthErrorClass) return new AuthErrorClass(message, type);
    const e = new Error(message);
    e.name = 'AuthError';
    e.type = type;
    return e;
}
export function mount_iframe(src, style) {
    const f = document.createElement('iframe');
    f.id = 'connect-ui';
    f.setAttribute('allow', 'clipboard-write');
    f.setAttribute('style', style);
    f.src = src;
    document.body.appendChild(f);
    document.body.style.overflow = 'hidden';
    return f;
}
export function unmount_iframe(f) {
    f.remove();
    document.body.style.overflow = '';
}
")]
extern "C" {
    /// `window`, or `None` outside a browser page (never read at import time).
    pub(crate) fn page_window() -> Option<web_sys::Window>;
    /// `[screen.width, screen.height]`.
    pub(crate) fn screen_size() -> js_sys::Array;
    /// `window.open('', '_blank', features)`; `None` when blocked (no handle, or already closed).
    pub(crate) fn open_blank(features: &str) -> Option<web_sys::Window>;
    /// Sends a window we opened to `href`.
    #[wasm_bindgen(catch)]
    pub(crate) fn navigate(window: &web_sys::Window, href: &str) -> Result<(), JsValue>;
    /// Closes a window we opened after `ms` milliseconds.
    pub(crate) fn close_later(window: &web_sys::Window, ms: i32);
    /// `new WebSocket(url)`: `on_message(data)` per frame, `on_lost()` on `error` or `close`.
    #[wasm_bindgen(catch)]
    pub(crate) fn open_socket(
        url: &str,
        on_message: &JsValue,
        on_lost: &JsValue,
    ) -> Result<JsValue, JsValue>;
    /// Detaches the socket's handlers, then closes it.
    pub(crate) fn close_socket(socket: &JsValue);
    /// `setInterval(every, every_ms)` and `setTimeout(once, once_ms)`; the handle for [`stop_timers`].
    pub(crate) fn start_timers(
        every: &JsValue,
        every_ms: i32,
        once: &JsValue,
        once_ms: i32,
    ) -> JsValue;
    pub(crate) fn stop_timers(timers: &JsValue);

    /// Stores the `AuthError` class errors are built from.
    pub(crate) fn set_auth_error_class(class: &js_sys::Function);
    /// `new AuthError(message, type)` (or a plain `Error` with `.type` until a class is registered).
    pub(crate) fn make_auth_error(message: &str, kind: &str) -> JsValue;
    /// Creates the Connect UI iframe (`id="connect-ui"`, `allow="clipboard-write"`, `style`, `src`),
    /// appends it to `<body>` and hides the body's overflow.
    pub(crate) fn mount_iframe(src: &str, style: &str) -> JsValue;
    /// Removes the iframe and restores the body's overflow (to `''`, as Nango).
    pub(crate) fn unmount_iframe(iframe: &JsValue);
}
