//! The few lines of JavaScript the SDK runs as plain JS: one `inline_js` module of browser plumbing.
//!
//! Only plumbing lives here, never a decision: read or set a property, parse a URL, open a window, a
//! socket, timers, an iframe; hold the `AuthError` class. Which URL, which origin, what to send, what
//! to accept, when to give up: all of that stays in Rust (`crate::logic`, `crate::oauth`, `crate::js`).
//!
//! Why here and not through `web-sys`/`js-sys`: each of their bindings costs a generated JS shim plus a
//! hashed import name in both the `.js` and the `.wasm` file. A function of this module whose
//! arguments and result are all JS values or numbers needs no shim at all: the wasm imports it from
//! this module directly. So every function here takes and returns `JsValue`s (strings are passed as JS
//! strings, made with `JsValue::from_str`, and read back with `as_string`), and "nothing" is
//! `undefined`. That, and one generic property getter/setter instead of a binding per property, is what
//! keeps the SDK within its gzip budget (`budgets.toml`).

#![cfg_attr(not(feature = "js"), allow(dead_code))]

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = "
export function page_window() { return typeof window === 'undefined' ? undefined : window; }
export function get(o, k) {
    try {
        if (o !== null && (typeof o === 'object' || typeof o === 'function')) return o[k] ?? undefined;
    } catch (e) {}
}
export function set(o, k, v) { o[k] = v; }
export function at(list, i) { return list[i]; }
export function object() { return {}; }
export function strings(r, u) {
    const out = [];
    if (r !== null && typeof r === 'object') {
        for (const [k, v] of Object.entries(r)) {
            if (typeof v === 'string') out.push(k, v);
            else if (v === undefined && u !== undefined) out.push(k, u);
        }
    }
    return out;
}
export function joined(v) { return Array.isArray(v) ? v.join(',') : undefined; }
export function call(f, a) { try { f(a); } catch (e) {} }
export function js_error(m) { return new Error(m); }
export function new_url(s, base) { try { return new URL(s, base || undefined); } catch (e) {} }
export function append(u, k, v) { u.searchParams.append(k, v); }
export function encode(s) { return encodeURIComponent(s); }
export function listen(cb) { addEventListener('message', cb); }
export function unlisten(cb) { removeEventListener('message', cb); }
export function screen_dim(i) { return i ? screen.height : screen.width; }
export function open_blank(features) {
    const w = open('', '_blank', features);
    return w && !w.closed ? w : undefined;
}
export function is_closed(w) { try { return w.closed !== false; } catch (e) { return true; } }
export function navigate(w, href) { try { w.location.href = href; return true; } catch (e) { return false; } }
export function post(w, data, origin) { try { w.postMessage(data, origin); } catch (e) {} }
export function close_later(w, ms) { setTimeout(() => w.close(), ms); }
export function open_socket(url, on_message, on_lost) {
    try {
        const ws = new WebSocket(url);
        ws.onmessage = (e) => {
            let v;
            try { v = JSON.parse(e.data); } catch (_) { return; }
            on_message(v);
        };
        ws.onerror = ws.onclose = () => on_lost();
        return ws;
    } catch (e) {}
}
export function close_socket(ws) {
    ws.onmessage = ws.onerror = ws.onclose = null;
    ws.close();
}
export function start_timers(every, every_ms, once, once_ms) {
    return [setInterval(every, every_ms), setTimeout(once, once_ms)];
}
export function stop_timers(t) { clearInterval(t[0]); clearTimeout(t[1]); }
export function deferred() {
    let a, b;
    const p = new Promise((resolve, reject) => { a = resolve; b = reject; });
    return [p, a, b];
}
export function rejected(e) { return Promise.reject(e); }
export function resolved(v) { return Promise.resolve(v); }
export function take_query_param(name) {
    if (typeof location === 'undefined') return undefined;
    const u = new URL(location.href);
    const v = u.searchParams.get(name);
    if (v === null) return undefined;
    u.searchParams.delete(name);
    history.replaceState(history.state, '', u.href);
    return v;
}
export function post_json(url, body, done) {
    const init = { method: 'POST', headers: { 'Content-Type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    fetch(url, init).then(
        (r) => r.json().then((json) => done([r.ok, json]), () => done([r.ok, null])),
        () => done([false, undefined]),
    );
}

let AuthErrorClass = null;
export function set_auth_error_class(c) { AuthErrorClass = c; }
export function make_auth_error(message, type) {
    if (AuthErrorClass) return new AuthErrorClass(message, type);
    const e = new Error(message);
    e.name = 'AuthError';
    e.type = type;
    return e;
}
export function mount_iframe(src) {
    const f = document.createElement('iframe');
    f.id = 'connect-ui';
    f.setAttribute('allow', 'clipboard-write');
    // An explicit color-scheme (the system's, as this page sees it): Chromium paints an opaque canvas
    // behind an iframe whose root color-scheme differs from the iframe element's, and the Connect UI's
    // root follows exactly this value (style.css), whatever theme it shows.
    const scheme = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
    f.setAttribute('style', 'position:fixed;z-index:9999;top:0;left:0;right:0;bottom:0;width:100vw;height:100vh;background-color:transparent;border:none;color-scheme:' + scheme);
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
    /// `window`, or `undefined` outside a browser page (never read at import time).
    pub(crate) fn page_window() -> JsValue;
    /// `o[k]` when `o` is an object or function; `undefined` when it is not, when the property is
    /// `null` or `undefined`, or when reading it throws.
    pub(crate) fn get(o: &JsValue, k: &JsValue) -> JsValue;
    /// `o[k] = v` (plain objects and `URL` setters).
    pub(crate) fn set(o: &JsValue, k: &JsValue, v: &JsValue);
    /// `list[i]`.
    pub(crate) fn at(list: &JsValue, i: i32) -> JsValue;
    /// A fresh `{}`.
    pub(crate) fn object() -> JsValue;
    /// A `Record<string, string | undefined>` as a flat `[k, v, k, v, …]` in property order: string
    /// values are kept, `undefined` ones become `undefined_as` (or are skipped when it is `undefined`),
    /// others are skipped. Not an object: `[]`.
    pub(crate) fn strings(record: &JsValue, undefined_as: &JsValue) -> JsValue;
    /// `v.join(',')` for an array, else `undefined`.
    pub(crate) fn joined(v: &JsValue) -> JsValue;
    /// `f(a)`; whatever `f` throws is dropped.
    pub(crate) fn call(f: &JsValue, a: &JsValue);
    /// `new Error(message)`.
    pub(crate) fn js_error(message: &JsValue) -> JsValue;
    /// `new URL(s, base)` (no base when `base` is empty), or `undefined` when it does not parse.
    pub(crate) fn new_url(s: &JsValue, base: &JsValue) -> JsValue;
    /// `url.searchParams.append(k, v)`: the platform encodes the pair.
    pub(crate) fn append(url: &JsValue, k: &JsValue, v: &JsValue);
    /// `encodeURIComponent(s)`.
    pub(crate) fn encode(s: &JsValue) -> JsValue;
    /// Adds the window `message` listener `cb`.
    pub(crate) fn listen(cb: &JsValue);
    /// Removes the window `message` listener `cb`.
    pub(crate) fn unlisten(cb: &JsValue);
    /// `screen.width` (`i == 0`) or `screen.height`.
    pub(crate) fn screen_dim(i: i32) -> f64;
    /// `window.open('', '_blank', features)`; `undefined` when blocked (no handle, or already closed).
    pub(crate) fn open_blank(features: &JsValue) -> JsValue;
    /// `w.closed`, or `true` when it cannot be read.
    pub(crate) fn is_closed(w: &JsValue) -> bool;
    /// Sends a window we opened to `href`; `false` when the browser refuses.
    pub(crate) fn navigate(w: &JsValue, href: &JsValue) -> bool;
    /// `w.postMessage(data, origin)` (errors dropped).
    pub(crate) fn post(w: &JsValue, data: &JsValue, origin: &JsValue);
    /// Closes a window we opened after `ms` milliseconds.
    pub(crate) fn close_later(w: &JsValue, ms: i32);
    /// `new WebSocket(url)` (`undefined` if it throws): `on_message(JSON.parse(data))` per frame (frames
    /// that are not JSON are dropped), `on_lost()` on `error` or `close`.
    pub(crate) fn open_socket(url: &JsValue, on_message: &JsValue, on_lost: &JsValue) -> JsValue;
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
    /// `[promise, resolve, reject]` of a fresh pending Promise.
    pub(crate) fn deferred() -> JsValue;
    /// `Promise.reject(e)`.
    pub(crate) fn rejected(e: &JsValue) -> JsValue;
    /// `Promise.resolve(v)`.
    pub(crate) fn resolved(v: &JsValue) -> JsValue;
    /// The page URL's query parameter `name`, removed from the address bar (`history.replaceState`);
    /// `undefined` when absent.
    pub(crate) fn take_query_param(name: &JsValue) -> JsValue;
    /// `POST url` with `body` as JSON (no body when `undefined`), then `done([response.ok, json])`;
    /// `json` is `null` when the answer is not JSON, `undefined` when the request failed.
    pub(crate) fn post_json(url: &JsValue, body: &JsValue, done: &JsValue);

    /// Stores the `AuthError` class errors are built from.
    pub(crate) fn set_auth_error_class(class: &JsValue);
    /// `new AuthError(message, type)` (or a plain `Error` with `.type` until a class is registered).
    pub(crate) fn make_auth_error(message: &JsValue, kind: &JsValue) -> JsValue;
    /// Creates the Connect UI iframe (`id="connect-ui"`, `allow="clipboard-write"`, full-screen and
    /// transparent: the Connect UI draws its own backdrop), appends it to `<body>` and hides the body's
    /// overflow.
    pub(crate) fn mount_iframe(src: &JsValue) -> JsValue;
    /// Removes the iframe and restores the body's overflow (to `''`, as Nango).
    pub(crate) fn unmount_iframe(iframe: &JsValue);
}
