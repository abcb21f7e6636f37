//! The JavaScript face of the SDK (feature `js`): the `Nango` and `ConnectUI` classes of
//! `@latchkey/frontend`, with `@nangohq/frontend`'s surface (reference §1.2–1.8).
//!
//! This layer only parses arguments (plain JS option objects, read through `crate::glue`), turns results into
//! Promises and errors into `AuthError` instances. Decisions live in [`crate::logic`], the popup flow in
//! `crate::oauth`. `pkg/index.js` re-exports these classes (and defines `AuthError`, see
//! [`auth_error`]); nothing here runs at import time, so importing the package is SSR-safe.

mod auth_error;
mod connect_ui;
mod http;
mod nango;

pub use auth_error::register_auth_error;
pub use connect_ui::ConnectUi;
pub use nango::Nango;

use wasm_bindgen::prelude::*;

use crate::browser::{self, get};
use crate::glue;

#[wasm_bindgen]
extern "C" {
    /// A JS `Promise` (what `auth()`, `create()` and `reconnect()` return).
    #[wasm_bindgen(typescript_type = "Promise<any>")]
    pub type Promise;
}

/// A pending Promise with its `resolve` / `reject` functions (no Rust closure needed to build it).
struct Deferred(JsValue);

impl Deferred {
    fn new() -> Self {
        Deferred(glue::deferred())
    }

    fn promise(&self) -> JsValue {
        glue::at(&self.0, 0)
    }

    /// Resolves (`ok`) or rejects the promise with `value`.
    fn settle(&self, ok: bool, value: &JsValue) {
        glue::call(&glue::at(&self.0, if ok { 1 } else { 2 }), value);
    }
}

/// A JavaScript options object (`NangoOptions`, `AuthOptions`, `ConnectUIProps`), read leniently like
/// `@nangohq/frontend` does: a property of the wrong type counts as absent.
pub(crate) struct Options(pub JsValue);

impl Options {
    #[inline(never)]
    fn string(&self, name: &str) -> Option<String> {
        browser::get_string(&self.0, name).filter(|s| !s.is_empty())
    }

    fn boolean(&self, name: &str) -> bool {
        get(&self.0, name)
            .and_then(|v| v.as_bool())
            .unwrap_or_default()
    }

    /// A non-negative whole number (popup sizes); 0 when absent (`as` saturates negatives and NaN).
    fn size(&self, name: &str) -> u32 {
        get(&self.0, name)
            .and_then(|v| v.as_f64())
            .map_or(0, |n| n as u32)
    }

    /// A string array joined with `,` (`user_scope`); empty when absent or not an array.
    fn joined(&self, name: &str) -> String {
        get(&self.0, name)
            .and_then(|list| glue::joined(&list).as_string())
            .unwrap_or_default()
    }

    fn function(&self, name: &str) -> Option<JsValue> {
        get(&self.0, name).filter(JsValue::is_function)
    }

    /// A `Record<string, string | undefined>` as ordered pairs: string values are kept, `undefined`
    /// values become `undefined_as` (or are skipped when it is `None`), values of other types are skipped.
    #[inline(never)]
    fn record(&self, name: &str, undefined_as: Option<&str>) -> Vec<(String, String)> {
        let record = get(&self.0, name).unwrap_or_default();
        let placeholder = undefined_as.map_or(JsValue::UNDEFINED, browser::js);
        let flat = glue::strings(&record, &placeholder);
        let mut pairs = Vec::new();
        let at = |i| glue::at(&flat, i).as_string();
        while let (Some(key), Some(value)) =
            (at(2 * pairs.len() as i32), at(2 * pairs.len() as i32 + 1))
        {
            pairs.push((key, value));
        }
        pairs
    }
}
