//! Credential submission without a popup (reference §1.3 "non-popup request", §3.8): API keys, basic
//! auth, OAuth 2 client credentials and `create()` are `POST`ed as JSON to the API, authenticated by
//! the `connect_session_token` (or legacy `public_key` + `hmac`) query parameter — no `Authorization`
//! header, as Nango.
//!
//! A 2xx answer resolves with its JSON (`{connectionId, providerConfigKey}`); any other carries
//! `{"error":{"code","message"}}` and becomes `AuthError(code, message)`. The request itself is
//! `glue::post_json` (plumbing only); the answer is read here, in one callback (no async executor).

use wasm_bindgen::prelude::*;

use super::auth_error::to_js;
use super::Deferred;
use crate::browser::{self, js, JsFields};
use crate::glue;
use crate::logic::{wire, OAuthRequest};
use crate::AuthError;
use latchkey_protocol::routes::REDIRECT_RESULT;

/// Sends `body` (no body at all when `bare`, as `create()` requires) to `route` with `req`'s query;
/// `assertion_option` goes with a TWO_STEP body.
pub(crate) fn post(
    route: &str,
    req: &OAuthRequest,
    body: &[(String, String)],
    assertion_option: &[(String, String)],
    bare: bool,
) -> Result<JsValue, AuthError> {
    let url = browser::api_route_url(&req.host, route, &req.provider_config_key)?;
    let pairs = req.query(None).pairs();
    url.append(pairs.iter().map(|(name, value)| (&**name, *value)));
    let body = if bare {
        JsValue::UNDEFINED
    } else {
        wire::write_two_step_body::<JsFields>(body, assertion_option).0
    };
    Ok(send(&url.href(), &body))
}

/// Redirect mode: `POST /oauth/result/:id` (no body), resolving with the outcome the id stands for.
pub(crate) fn redeem(host: &str, id: &str) -> Result<JsValue, AuthError> {
    let url = browser::api_route_url(host, REDIRECT_RESULT, id)?;
    Ok(send(&url.href(), &JsValue::UNDEFINED))
}

/// `POST`s `body` (none when `undefined`) to `href`; the Promise of its answer (see [`settle`]).
fn send(href: &str, body: &JsValue) -> JsValue {
    let deferred = Deferred::new();
    let promise = deferred.promise();
    let done =
        Closure::<dyn FnMut(JsValue)>::new(move |answer: JsValue| settle(&answer, &deferred));
    // Owned by JS from here on: its Rust side is freed once the request's promise chain lets go of it.
    glue::post_json(&js(href), body, &done.into_js_value());
    promise
}

/// `[ok, body]` from `post_json`: 2xx resolves with the body; anything else rejects with the
/// server's error code, or with `unknown_error` when there is no answer or no readable one.
fn settle(answer: &JsValue, deferred: &Deferred) {
    let body = glue::at(answer, 1);
    if glue::at(answer, 0).as_bool() == Some(true) && !body.is_null() {
        return deferred.settle(true, &body);
    }
    let error = if body.is_undefined() {
        AuthError::unknown("Server unreachable")
    } else {
        wire::read_api_error(&JsFields(body))
            .map(|(code, message)| AuthError::new(code, message))
            .unwrap_or_else(|| AuthError::unknown("Unreadable server answer"))
    };
    deferred.settle(false, &to_js(&error));
}
