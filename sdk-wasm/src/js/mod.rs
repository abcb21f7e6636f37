//! The JavaScript face of the SDK (feature `js`): the `Nango` and `ConnectUI` classes of
//! `@latchkey/frontend`, with `@nangohq/frontend`'s surface (reference §1.2–1.8).
//!
//! This layer only parses arguments (plain JS option objects, read with `Reflect`), turns results into
//! Promises and errors into `AuthError` instances. Decisions live in [`crate::logic`], the popup flow in
//! `crate::oauth`. `pkg/index.js` re-exports these classes (and defines `AuthError`, see
//! [`auth_error`]); nothing here runs at import time, so importing the package is SSR-safe.

mod auth_error;
mod connect_ui;
#[cfg(feature = "credentials")]
mod http;
mod nango;

pub use auth_error::register_auth_error;
pub use connect_ui::ConnectUi;
pub use nango::Nango;

use wasm_bindgen::{JsCast, JsValue};

use crate::browser::get;

/// A JavaScript options object (`NangoOptions`, `AuthOptions`, `ConnectUIProps`), read leniently like
/// `@nangohq/frontend` does: a property of the wrong type counts as absent.
pub(crate) struct Options(pub JsValue);

impl Options {
    fn string(&self, name: &str) -> Option<String> {
        get(&self.0, name)?.as_string().filter(|s| !s.is_empty())
    }

    fn boolean(&self, name: &str) -> bool {
        get(&self.0, name)
            .and_then(|v| v.as_bool())
            .unwrap_or_default()
    }

    /// A non-negative whole number (popup sizes); 0 when absent.
    fn size(&self, name: &str) -> u32 {
        get(&self.0, name)
            .and_then(|v| v.as_f64())
            .filter(|n| *n >= 0.0)
            .map_or(0, |n| n as u32)
    }

    fn function(&self, name: &str) -> Option<js_sys::Function> {
        get(&self.0, name)?.dyn_into().ok()
    }

    fn object(&self, name: &str) -> Option<Options> {
        get(&self.0, name).filter(JsValue::is_object).map(Options)
    }

    /// A `Record<string, string | undefined>` as ordered pairs: string values are kept, `undefined`
    /// values become `undefined_as` (or are skipped when it is `None`), values of other types are skipped.
    fn record(&self, name: &str, undefined_as: Option<&str>) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let Some(record) = self.object(name) else {
            return pairs;
        };
        let entries = js_sys::Object::entries(record.0.unchecked_ref());
        for i in 0..entries.length() {
            let entry: js_sys::Array = entries.get(i).unchecked_into();
            let (Some(key), value) = (entry.get(0).as_string(), entry.get(1)) else {
                continue;
            };
            match (value.as_string(), undefined_as) {
                (Some(value), _) => pairs.push((key, value)),
                (None, Some(placeholder)) if value.is_undefined() => {
                    pairs.push((key, placeholder.to_owned()))
                }
                _ => {}
            }
        }
        pairs
    }

    /// The object has no own enumerable property.
    fn is_empty(&self) -> bool {
        js_sys::Object::keys(self.0.unchecked_ref::<js_sys::Object>()).length() == 0
    }
}
