//! The `Nango` class (reference §1.2–1.7): `new Nango(options)`, `auth`, `create`, `reconnect`,
//! `clear`, `openConnectUI`.
//!
//! `auth()` opens the OAuth popup synchronously, inside the call, before the returned Promise first
//! awaits anything: browsers only allow popups during the user's click. Credentials (API key, basic,
//! client credentials) never open a popup: they are `POST`ed (see `http`); which way a call goes is
//! decided by [`crate::logic::credentials::dispatch`]. Both a connect session token and (legacy) a
//! public key authenticate; the public-key mode also sends `connection_id` and `hmac`, as Nango.

use std::cell::Cell;

use latchkey_protocol::params::REDIRECT_RESULT;
use latchkey_protocol::AuthErrorType;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::auth_error::to_js;
use super::connect_ui::ConnectUi;
use super::{http, Deferred, Options, Promise};
use crate::browser::{self, JsFields};
use crate::glue;
use crate::logic::credentials::{self, Dispatch};
use crate::logic::{urls, wire};
use crate::{start_oauth, AuthError, OAuthCanceller, OAuthRequest};

// The Nango client: starts connection flows for one connect session (or public key).
#[wasm_bindgen]
pub struct Nango {
    host: String,
    websockets_path: String,
    connect_session_token: Option<String>,
    public_key: Option<String>,
    width: u32,
    height: u32,
    /// The popup flow in progress, if any (cancelled by `clear()` and by the next `auth()`).
    current: Cell<Option<OAuthCanceller>>,
}

#[wasm_bindgen]
impl Nango {
    // `new Nango({host, connectSessionToken, publicKey, width, height, websocketsPath, debug})`; all
    // optional (`debug` is accepted for compatibility; the SDK logs nothing). Throws
    // `AuthError('invalid_host_url')` when `host` is not an http(s) URL.
    #[wasm_bindgen(constructor, skip_jsdoc)]
    pub fn new(options: JsValue) -> Result<Nango, JsValue> {
        let options = Options(options);
        let host = urls::normalize_host(&options.string("host").unwrap_or_default()).to_owned();
        browser::host_url(&host)?;
        Ok(Nango {
            host,
            websockets_path: options.string("websocketsPath").unwrap_or_default(),
            connect_session_token: options.string("connectSessionToken"),
            public_key: options.string("publicKey"),
            width: options.size("width"),
            height: options.size("height"),
            current: Cell::new(None),
        })
    }

    // `auth(providerConfigKey, [connectionId], options?)` → `Promise<{providerConfigKey, connectionId, isPending?}>`.
    #[wasm_bindgen(skip_jsdoc)]
    pub fn auth(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        connection_id_or_options: JsValue,
        options: JsValue,
    ) -> Promise {
        self.run(0, key, connection_id_or_options, options)
    }

    // `create(providerConfigKey, [connectionId], options?)`: a connection to an `auth_mode: NONE`
    // integration (`POST /auth/unauthenticated/:key`, no body, no popup). Deprecated by Nango.
    #[wasm_bindgen(skip_jsdoc)]
    pub fn create(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        connection_id_or_options: JsValue,
        options: JsValue,
    ) -> Promise {
        self.run(1, key, connection_id_or_options, options)
    }

    // `reconnect(providerConfigKey, options?)`: `auth()` for a reconnect session (the session pins the
    // connection); refuses without a session token.
    #[wasm_bindgen(skip_jsdoc)]
    pub fn reconnect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        options: JsValue,
    ) -> Promise {
        self.run(2, key, options, JsValue::UNDEFINED)
    }

    // Cancels the popup flow in progress, if any; safe to call at any time.
    pub fn clear(&self) {
        if let Some(flow) = self.current.take() {
            flow.cancel();
        }
    }

    // `handleRedirectResult()` → `Promise<{providerConfigKey, connectionId, isPending} | null>`: on
    // the page a redirect-mode flow returned to, redeems (once) the result id in its URL and removes
    // it from the address bar; `null` when the URL has none. Rejects with the flow's `AuthError`.
    #[wasm_bindgen(js_name = handleRedirectResult, skip_jsdoc)]
    pub fn handle_redirect_result(&self) -> Promise {
        let id = glue::take_query_param(&browser::js(REDIRECT_RESULT));
        let result = match id.as_string() {
            None => Ok(glue::resolved(&JsValue::NULL)),
            Some(id) => http::redeem(&self.host, &id),
        };
        result
            .unwrap_or_else(|error| glue::rejected(&to_js(&error)))
            .unchecked_into()
    }

    // `openConnectUI(props)`: creates the Connect UI iframe (with this client's session token unless
    // `props.sessionToken` is given) and opens it.
    #[wasm_bindgen(js_name = openConnectUI, skip_jsdoc)]
    pub fn open_connect_ui(&self, props: JsValue) -> Result<ConnectUi, JsValue> {
        let ui = ConnectUi::from_props(props, self.connect_session_token.clone());
        ui.open()?;
        Ok(ui)
    }
}

impl Nango {
    /// `auth()` (`mode` 0), `create()` (1) and `reconnect()` (2); every error rejects.
    #[inline(never)]
    fn run(&self, mode: u8, key: JsValue, id_or_options: JsValue, options: JsValue) -> Promise {
        let key = key.as_string().unwrap_or_default();
        let result = if mode == 2 && self.connect_session_token.is_none() {
            Err(AuthError::of(
                AuthErrorType::MissingConnectSessionToken,
                "Reconnect requires a session token",
            ))
        } else {
            // A string second argument is the connection id, and the options come third.
            let (connection_id, options) = match id_or_options.as_string() {
                Some(id) if mode != 2 => (id, options),
                _ => (String::new(), id_or_options),
            };
            self.start(key, connection_id, Options(options), mode == 1)
        };
        result
            .unwrap_or_else(|error| glue::rejected(&to_js(&error)))
            .unchecked_into()
    }

    /// Everything `auth()` does before its first `await`, including opening the popup.
    fn start(
        &self,
        provider_config_key: String,
        connection_id: String,
        options: Options,
        create: bool,
    ) -> Result<JsValue, AuthError> {
        if self.connect_session_token.is_none() && self.public_key.is_none() {
            return Err(AuthError::missing_auth_token());
        }
        let dispatch = if create {
            Dispatch::Post {
                route: latchkey_protocol::routes::UNAUTHENTICATED,
                body: Vec::new(),
            }
        } else {
            credentials::dispatch(&options.record("credentials", None))?
        };
        let mut req = OAuthRequest {
            host: self.host.clone(),
            websockets_path: self.websockets_path.clone(),
            provider_config_key,
            connect_session_token: self.connect_session_token.clone().unwrap_or_default(),
            public_key: self.public_key.clone().unwrap_or_default(),
            connection_id,
            params: options.record("params", None),
            hmac: options.string("hmac").unwrap_or_default(),
            user_scope: options.joined("user_scope"),
            credentials: Vec::new(),
            // `undefined` is sent as the string "undefined": the server then drops that template
            // parameter (Nango's behaviour).
            authorization_params: options.record("authorization_params", Some("undefined")),
            width: self.width,
            height: self.height,
            detect_closed_auth_window: options.boolean("detectClosedAuthWindow"),
            opener_origin: String::new(),
            return_url: String::new(),
        };
        let overrides = match dispatch {
            Dispatch::Post { route, body } => {
                let assertion_option = if route == latchkey_protocol::routes::TWO_STEP {
                    options.record("assertionOption", None)
                } else {
                    Vec::new()
                };
                return http::post(route, &req, &body, &assertion_option, create);
            }
            Dispatch::Popup(overrides) => overrides,
        };
        req.credentials = overrides;
        // `{redirect: {returnUrl}}`: redirect mode, for OAuth only (credentials need no popup).
        req.return_url = browser::get(&options.0, "redirect")
            .and_then(|r| browser::get_string(&r, "returnUrl"))
            .unwrap_or_default();

        self.clear();
        if !req.return_url.is_empty() {
            // Redirect mode: the page leaves; its promise never settles (the outcome is read on
            // return by `handleRedirectResult()`).
            let href = crate::redirect_url(req)?;
            let window = browser::window().unwrap_or_default();
            if !glue::navigate(&window, &browser::js(&href)) {
                return Err(AuthError::unknown("The browser refused to navigate"));
            }
            return Ok(Deferred::new().promise());
        }
        let flow = start_oauth(req)?;
        self.current.set(Some(flow.canceller()));
        let deferred = Deferred::new();
        let promise = deferred.promise();
        flow.on_settled(move |outcome| match outcome {
            Ok(connection) => deferred.settle(
                true,
                &wire::write_connect_payload::<JsFields>(&connection).0,
            ),
            Err(error) => deferred.settle(false, &to_js(&error)),
        });
        Ok(promise)
    }
}
