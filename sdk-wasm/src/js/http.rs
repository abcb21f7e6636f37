//! (Feature `credentials`, off by default: +1.4 KB gzip, over the SDK's budget.)
//!
//! Credential submission without a popup (reference §1.3 "non-popup request", §3.8): API keys and
//! basic auth are `POST`ed as JSON to the API, authenticated by the `connect_session_token` query
//! parameter (no `Authorization` header, as Nango).
//!
//! A non-2xx answer carries `{"error":{"code","message"}}` and becomes `AuthError(code, message)`.
//! The request itself is `post_json` (which never rejects); the answer is read here, in a `then`
//! handler (no async executor shipped).

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::auth_error::to_js;
use crate::browser::{self, JsFields};
use crate::logic::{urls, wire};
use crate::AuthError;

/// One credential submission, fully decided before anything is sent.
pub(crate) struct CredentialPost {
    pub route: &'static str,
    pub provider_config_key: String,
    pub connect_session_token: String,
    pub params: Vec<(String, String)>,
    /// The JSON body (`{apiKey}` or `{username, password}`).
    pub body: JsValue,
}

impl CredentialPost {
    /// Sends the request; the Promise resolves with the server's `{connectionId, providerConfigKey}`
    /// and rejects with an `AuthError`.
    pub fn send(self, host: &str) -> Promise {
        let url = match browser::api_route_url(host, self.route, &self.provider_config_key) {
            Ok(url) => url,
            Err(error) => return Promise::reject(&to_js(&error)),
        };
        let query = url.search_params();
        for (name, value) in urls::auth_query(&self.connect_session_token, None, &self.params, &[])
        {
            query.append(&name, value);
        }
        let answer = post_json(&url.href(), &self.body);
        Promise::new(&mut |resolve, reject| {
            let on_answer = Closure::<dyn FnMut(JsValue)>::new(move |answer: JsValue| {
                let _ = match read_answer(answer.unchecked_into()) {
                    Ok(body) => resolve.call1(&JsValue::UNDEFINED, &body),
                    Err(error) => reject.call1(&JsValue::UNDEFINED, &error),
                };
            });
            answer
                .unchecked_ref::<Thenable>()
                .then_with(on_answer.as_ref());
            // Owned by JS from here on: wasm-bindgen's finalization registry frees it once the
            // settled promise lets go of it.
            on_answer.forget();
        })
    }
}

/// `[ok, body]` from `post_json`: 2xx resolves with the body; anything else rejects with the
/// server's error code, or with `unknown_error` when there is no answer or no readable one.
fn read_answer(answer: Array) -> Result<JsValue, JsValue> {
    let body = answer.get(1);
    if answer.get(0).is_truthy() && !body.is_null() {
        return Ok(body);
    }
    let error = if body.is_undefined() {
        AuthError::unknown("Could not reach the authorization server.")
    } else {
        wire::read_api_error_body(&JsFields(body))
            .map(|body| AuthError::new(body.error.code, body.error.message))
            .unwrap_or_else(|| {
                AuthError::unknown("The server answered without a readable JSON body.")
            })
    };
    Err(to_js(&error))
}

#[wasm_bindgen(inline_js = "
export function post_json(url, body) {
    const init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    return fetch(url, init).then(
        (r) => r.json().then((json) => [r.ok, json], () => [r.ok, null]),
        () => [false, undefined],
    );
}
")]
extern "C" {
    /// `POST url` with `body` as JSON; resolves with `[response.ok, json]` (`json` is `null` when the
    /// body is not JSON, `undefined` when the request failed), never rejects. (Plumbing only, kept
    /// out of `crate::glue` so the default build does not ship it.)
    fn post_json(url: &str, body: &JsValue) -> Promise;
}

#[wasm_bindgen]
extern "C" {
    /// A promise seen untyped, to pass a plain JS function to `then`.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_with(this: &Thenable, on_fulfilled: &JsValue);
}
