//! Small browser helpers shared by the OAuth flow and the JS façade: API URLs through the browser's
//! own `URL` parser, and JS objects as seen by the protocol codec.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use web_sys::{Url, Window};

use crate::logic::urls;
use crate::logic::wire::{ReadFields, WriteFields};
use crate::AuthError;

/// The page's `window` (one import, where `web_sys::window()` probes four globals).
pub(crate) fn window() -> Option<Window> {
    crate::glue::page_window()
}

/// The host's `URL` (normalised as Nango: trailing slashes stripped, default host), or
/// `invalid_host_url` when it does not parse or is not `http(s)`.
pub(crate) fn host_url(host: &str) -> Result<Url, AuthError> {
    let url = Url::new(urls::normalize_host(host)).map_err(|_| AuthError::invalid_host_url())?;
    if urls::is_api_protocol(&url.protocol()) {
        Ok(url)
    } else {
        Err(AuthError::invalid_host_url())
    }
}

/// `<host>/<route><key>` with the host's path prefix kept and the key encoded as one path segment.
pub(crate) fn api_route_url(
    host: &str,
    route: &str,
    provider_config_key: &str,
) -> Result<Url, AuthError> {
    let url = host_url(host)?;
    let key = String::from(js_sys::encode_uri_component(provider_config_key));
    url.set_pathname(&urls::route_path(&url.pathname(), route, &key));
    Ok(url)
}

/// A JS object seen through the protocol codec ([`crate::logic::wire`]).
pub(crate) struct JsFields(pub JsValue);

impl ReadFields for JsFields {
    fn string(&self, name: &str) -> Option<String> {
        get(&self.0, name)?.as_string()
    }
    fn boolean(&self, name: &str) -> Option<bool> {
        get(&self.0, name)?.as_bool()
    }
    fn object(&self, name: &str) -> Option<Self> {
        get(&self.0, name).filter(JsValue::is_object).map(JsFields)
    }
}

impl WriteFields for JsFields {
    fn empty() -> Self {
        JsFields(js_sys::Object::new().into())
    }
    fn set_string(&mut self, name: &str, value: &str) {
        let _ = Reflect::set(&self.0, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    fn set_bool(&mut self, name: &str, value: bool) {
        let _ = Reflect::set(
            &self.0,
            &JsValue::from_str(name),
            &JsValue::from_bool(value),
        );
    }
}

/// `value[name]`, when `value` is an object and the property is defined.
pub(crate) fn get(value: &JsValue, name: &str) -> Option<JsValue> {
    if !value.is_object() && !value.is_function() {
        return None;
    }
    Reflect::get(value, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// `value.type` is a string (the shape every `postMessage` event of ours has).
pub(crate) fn has_string_type(value: &JsValue) -> bool {
    get(value, "type").is_some_and(|t| t.is_string())
}
