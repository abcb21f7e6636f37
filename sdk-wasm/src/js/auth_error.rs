//! `AuthError` for JavaScript: rejections are `instanceof AuthError` with `.type` and `.message`.
//!
//! wasm-bindgen cannot export a class that `extends Error`, so the class is defined in JavaScript
//! (`pkg/index.js`, the package's public entry) and handed to the module once at start-up through
//! [`register_auth_error`]; every error the façade throws or rejects with is then constructed from it,
//! as `new AuthError(message, type)` (Nango's constructor order). Until one is registered (someone
//! loading the raw wasm-bindgen module directly, or the crate's own browser tests), errors are plain
//! `Error`s named `AuthError` that still carry `.type`. The class is held in JavaScript (`glue`), not in
//! a Rust `thread_local!`, which would ship std's thread-local machinery.

use wasm_bindgen::prelude::*;

use crate::browser::js;
use crate::glue;
use crate::AuthError;

// Registers the JavaScript `AuthError` class (called by `pkg/index.js` right after `init`).
#[wasm_bindgen(js_name = __registerAuthError, skip_jsdoc)]
pub fn register_auth_error(class: &JsValue) {
    glue::set_auth_error_class(class);
}

/// The JavaScript value an [`AuthError`] is thrown or rejected as.
pub(crate) fn to_js(error: &AuthError) -> JsValue {
    glue::make_auth_error(&js(&error.message), &js(&error.kind))
}

impl From<AuthError> for JsValue {
    fn from(error: AuthError) -> Self {
        to_js(&error)
    }
}
