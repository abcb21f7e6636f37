//! Calls of the dashboard's cookie API (`/dashboard/api/…`): same-origin `fetch` (the browser sends
//! the `HttpOnly` session cookie by itself), JSON both ways, and the session's CSRF token on every
//! write. A `401` anywhere means the session ended (expired, signed out elsewhere): the app goes back
//! to the sign-in screen.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

thread_local! {
    static CSRF: RefCell<String> = const { RefCell::new(String::new()) };
    static ON_SIGNED_OUT: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

pub fn set_csrf(token: &str) {
    CSRF.with(|c| *c.borrow_mut() = token.to_string());
}

/// What to do when the server says the session is over.
pub fn on_signed_out(f: impl Fn() + 'static) {
    ON_SIGNED_OUT.with(|c| *c.borrow_mut() = Some(Box::new(f)));
}

/// An error as the user reads it (the envelope's `message`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

pub const BASE: &str = "/dashboard/api";

async fn send(method: &str, path: &str, body: Option<String>) -> Result<String, Failure> {
    let fail = |message: &str| Failure {
        status: 0,
        message: message.to_string(),
    };
    let init = RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| fail("no Headers"))?;
    let _ = headers.set("accept", "application/json");
    if method != "GET" {
        let token = CSRF.with(|c| c.borrow().clone());
        let _ = headers.set(latchkey_protocol::dashboard::CSRF_HEADER, &token);
    }
    if let Some(body) = &body {
        let _ = headers.set("content-type", "application/json");
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(&format!("{BASE}{path}"), &init)
        .map_err(|_| fail("The request could not be made."))?;
    let window = web_sys::window().ok_or_else(|| fail("no window"))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| fail("The server did not answer. Is it running?"))?
        .unchecked_into();
    let status = response.status();
    let text = match response.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if (200..300).contains(&status) {
        return Ok(text);
    }
    if status == 401 && path != "/session" {
        ON_SIGNED_OUT.with(|c| {
            if let Some(f) = c.borrow().as_ref() {
                f()
            }
        });
    }
    let message = serde_json::from_str::<latchkey_protocol::ApiErrorBody>(&text)
        .map(|b| b.error.message)
        .unwrap_or_else(|_| format!("The server answered {status}."));
    Err(Failure { status, message })
}

/// A read (the future owns its path, so resources can hold it).
pub fn get<T: DeserializeOwned>(
    path: impl Into<String>,
) -> impl std::future::Future<Output = Result<T, Failure>> {
    let path = path.into();
    async move {
        let text = send("GET", &path, None).await?;
        parse(&text)
    }
}

/// A write with a JSON body (or none); the answer parsed (`()` or `Value` when it does not matter).
pub async fn write<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<T, Failure> {
    let body = body.map(|b| serde_json::to_string(b).expect("serializes"));
    let text = send(method, path, body).await?;
    parse(if text.is_empty() { "null" } else { &text })
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| Failure {
        status: 0,
        message: format!("Unexpected answer from the server: {e}"),
    })
}

/// `encodeURIComponent`.
pub fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}
