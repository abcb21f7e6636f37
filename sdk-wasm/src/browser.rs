//! Small browser helpers shared by the OAuth flow and the JS façade: JS properties, URLs through the
//! browser's own `URL` parser (the platform parses and percent-encodes; nothing here does), and JS
//! objects as seen by the protocol codec. All of it goes through `crate::glue` (see there why).

use wasm_bindgen::prelude::*;

use crate::glue;
use crate::logic::urls;
use crate::logic::wire::{ReadFields, WriteFields};
use crate::AuthError;

/// A Rust string as a JS string.
pub(crate) fn js(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// The page's `window`, or `None` outside a browser page.
pub(crate) fn window() -> Option<JsValue> {
    defined(glue::page_window())
}

fn defined(v: JsValue) -> Option<JsValue> {
    (!v.is_undefined()).then_some(v)
}

/// `value[name]`, when `value` is an object and the property is neither `null` nor `undefined`.
pub(crate) fn get(value: &JsValue, name: &str) -> Option<JsValue> {
    defined(glue::get(value, &js(name)))
}

/// `value[name]` as a string, if it is one.
#[inline(never)]
pub(crate) fn get_string(value: &JsValue, name: &str) -> Option<String> {
    get(value, name)?.as_string()
}

/// A parsed URL: the browser's `URL` object, read and changed through its own properties.
pub(crate) struct Url(pub JsValue);

impl Url {
    /// `new URL(input, base)` (no base when `base` is empty); `None` when it does not parse.
    #[inline(never)]
    pub(crate) fn parse(input: &str, base: &str) -> Option<Url> {
        defined(glue::new_url(&js(input), &js(base))).map(Url)
    }

    /// A string property: `href`, `origin`, `protocol`, `pathname`.
    #[inline(never)]
    pub(crate) fn field(&self, name: &str) -> String {
        get_string(&self.0, name).unwrap_or_default()
    }

    /// Sets a string property (`pathname`, `protocol`): the URL re-serialises itself.
    #[inline(never)]
    pub(crate) fn set_field(&self, name: &str, value: &str) {
        glue::set(&self.0, &js(name), &js(value));
    }

    /// Appends query pairs with `URLSearchParams.append`, which encodes them.
    pub(crate) fn append<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (name, value) in pairs {
            glue::append(&self.0, &js(name), &js(value));
        }
    }

    pub(crate) fn href(&self) -> String {
        self.field("href")
    }
}

/// The host's `URL` (normalised as Nango: trailing slashes stripped, default host), or
/// `invalid_host_url` when it does not parse or is not `http(s)`.
pub(crate) fn host_url(host: &str) -> Result<Url, AuthError> {
    Url::parse(urls::normalize_host(host), "")
        .filter(|url| urls::is_api_protocol(&url.field("protocol")))
        .ok_or_else(AuthError::invalid_host_url)
}

/// `<host>/<route><key>` with the host's path prefix kept and the key encoded as one path segment.
pub(crate) fn api_route_url(
    host: &str,
    route: &str,
    provider_config_key: &str,
) -> Result<Url, AuthError> {
    let url = host_url(host)?;
    let key = glue::encode(&js(provider_config_key))
        .as_string()
        .unwrap_or_default();
    url.set_field(
        "pathname",
        &urls::route_path(&url.field("pathname"), route, &key),
    );
    Ok(url)
}

/// A JS object seen through the protocol codec ([`crate::logic::wire`]).
pub(crate) struct JsFields(pub JsValue);

impl ReadFields for JsFields {
    fn string(&self, name: &str) -> Option<String> {
        get_string(&self.0, name)
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
        JsFields(glue::object())
    }
    fn set_string(&mut self, name: &str, value: &str) {
        glue::set(&self.0, &js(name), &js(value));
    }
    fn set_bool(&mut self, name: &str, value: bool) {
        glue::set(&self.0, &js(name), &JsValue::from_bool(value));
    }
    fn set_object(&mut self, name: &str, value: Self) {
        glue::set(&self.0, &js(name), &value.0);
    }
}

/// `value.type` is a string (the shape every `postMessage` event of ours has).
pub(crate) fn has_string_type(value: &JsValue) -> bool {
    get(value, "type").is_some_and(|t| t.is_string())
}
