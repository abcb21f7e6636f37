//! The `Nango` class (reference §1.2–1.7): `new Nango(options)`, `auth`, `reconnect`, `clear`,
//! `openConnectUI`. (`create`, for `auth_mode: NONE` integrations, is not offered yet.)
//!
//! `auth()` opens the OAuth popup synchronously, inside the call, before the returned Promise first
//! awaits anything: browsers only allow popups during the user's click. Credentials (API key, basic)
//! never open a popup: with the `credentials` feature they are `POST`ed (see `http`), without it they
//! are refused.

use std::cell::Cell;

use js_sys::Promise;
use latchkey_protocol::AuthErrorType;
use wasm_bindgen::prelude::*;

use super::auth_error::to_js;
use super::connect_ui::ConnectUi;
use super::Options;
use crate::browser::{self, JsFields};
use crate::logic::{urls, wire};
use crate::{start_oauth, AuthError, OAuthCanceller, OAuthRequest};

// The Nango client: starts connection flows for one connect session.
#[wasm_bindgen]
pub struct Nango {
    host: String,
    websockets_path: String,
    connect_session_token: Option<String>,
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
            width: options.size("width"),
            height: options.size("height"),
            current: Cell::new(None),
        })
    }

    // `auth(providerConfigKey, [connectionId], options?)` → `Promise<{providerConfigKey, connectionId, isPending?}>`.
    #[wasm_bindgen(skip_jsdoc)]
    pub fn auth(
        &self,
        provider_config_key: String,
        connection_id_or_options: JsValue,
        options: JsValue,
    ) -> Promise {
        let options = if connection_id_or_options.is_string() {
            // With a session token the server forbids `connection_id`: it generates the id (or takes it
            // from a reconnect session), so the argument is accepted for compatibility and not sent.
            options
        } else {
            connection_id_or_options
        };
        match self.start(provider_config_key, options) {
            Ok(promise) => promise,
            Err(error) => Promise::reject(&to_js(&error)),
        }
    }

    // `reconnect(providerConfigKey, options?)`: `auth()` for a reconnect session (the session pins the
    // connection); refuses without a session token.
    #[wasm_bindgen(skip_jsdoc)]
    pub fn reconnect(&self, provider_config_key: String, options: JsValue) -> Promise {
        if self.connect_session_token.is_none() {
            return Promise::reject(&to_js(&AuthError::of(
                AuthErrorType::MissingConnectSessionToken,
                "Reconnect requires a session token",
            )));
        }
        self.auth(provider_config_key, options, JsValue::UNDEFINED)
    }

    // Cancels the popup flow in progress, if any; safe to call at any time.
    pub fn clear(&self) {
        if let Some(flow) = self.current.take() {
            flow.cancel();
        }
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
    fn token(&self) -> Result<String, AuthError> {
        // Public-key authentication (deprecated by Nango) is not supported: a public key alone
        // fails like no credential at all.
        self.connect_session_token.clone().ok_or_else(|| {
            AuthError::of(
                AuthErrorType::MissingAuthToken,
                "You must specify a connect session token (cf. documentation); public keys are not supported.",
            )
        })
    }

    /// Everything `auth()` does before its first `await`, including opening the popup.
    fn start(&self, provider_config_key: String, options: JsValue) -> Result<Promise, AuthError> {
        let token = self.token()?;
        let options = Options(options);
        let params = connection_params(&options);

        if let Some(credentials) = options.object("credentials").filter(|c| !c.is_empty()) {
            // Credentials never open a popup: they are submitted, or refused.
            return submit_credentials(
                &self.host,
                &credentials,
                provider_config_key,
                token,
                params,
            );
        }

        self.clear();
        let flow = start_oauth(OAuthRequest {
            host: self.host.clone(),
            websockets_path: self.websockets_path.clone(),
            provider_config_key,
            connect_session_token: token,
            params,
            // `undefined` is sent as the string "undefined": the server then drops that template
            // parameter (Nango's behaviour).
            authorization_params: options.record("authorization_params", Some("undefined")),
            width: self.width,
            height: self.height,
            detect_closed_auth_window: options.boolean("detectClosedAuthWindow"),
        })?;
        self.current.set(Some(flow.canceller()));
        let mut flow = Some(flow);
        Ok(Promise::new(&mut |resolve, reject| {
            if let Some(flow) = flow.take() {
                flow.on_settled(move |outcome| {
                    let _ = match outcome {
                        Ok(connection) => resolve.call1(
                            &JsValue::UNDEFINED,
                            &wire::write_connect_payload::<JsFields>(&connection).0,
                        ),
                        Err(error) => reject.call1(&JsValue::UNDEFINED, &to_js(&error)),
                    };
                });
            }
        }))
    }
}

/// `auth(key, {credentials: {apiKey} | {username, password}})`: `POST`ed, no popup (see `http`).
#[cfg(feature = "credentials")]
fn submit_credentials(
    host: &str,
    credentials: &Options,
    provider_config_key: String,
    connect_session_token: String,
    params: Vec<(String, String)>,
) -> Result<Promise, AuthError> {
    let (route, body): (_, JsFields) = if let Some(api_key) = credentials.string("apiKey") {
        (urls::API_KEY_ROUTE, wire::write_api_key_body(&api_key))
    } else {
        let (username, password) = (
            credentials.string("username"),
            credentials.string("password"),
        );
        if username.is_none() && password.is_none() {
            return Err(AuthError::of(
                AuthErrorType::MissingCredentials,
                "These credentials are not supported: pass { apiKey } or { username, password }.",
            ));
        }
        (
            urls::BASIC_ROUTE,
            wire::write_basic_body(&username.unwrap_or_default(), &password.unwrap_or_default()),
        )
    };
    Ok(super::http::CredentialPost {
        route,
        provider_config_key,
        connect_session_token,
        params,
        body: body.0,
    }
    .send(host))
}

/// Without the `credentials` feature (the default build, to stay within the size budget), credential
/// submission is refused rather than silently turned into an OAuth popup.
#[cfg(not(feature = "credentials"))]
fn submit_credentials(
    _host: &str,
    _credentials: &Options,
    _provider_config_key: String,
    _connect_session_token: String,
    _params: Vec<(String, String)>,
) -> Result<Promise, AuthError> {
    Err(AuthError::of(
        AuthErrorType::MissingCredentials,
        "This build of the SDK does not submit credentials (cargo feature `credentials`); use the Connect UI.",
    ))
}

/// `params` (connection config): string values only, as Nango sends them.
fn connection_params(options: &Options) -> Vec<(String, String)> {
    options.record("params", None)
}
