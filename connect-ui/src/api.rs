//! The Connect UI's only HTTP client: the three session-token calls it makes before a flow starts.
//!
//! Every call sends `Authorization: Bearer <connect session token>` to `{apiURL}{path}` (the API base
//! keeps its path prefix), parses the body with the browser's own JSON parser and reads the protocol's
//! `{data: …}` / `{error: {code, message}}` envelopes through [`crate::wire`]. The token is never
//! logged nor put in a URL here.

use std::future::Future;

use latchkey_protocol::events::ConnectPayload;
use latchkey_protocol::integrations::ApiPublicIntegration;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::form::Submission;
use crate::model::{ProviderSummary, SessionSettings};
use crate::wire::{self, Fields, JsObject, ReadFields, WriteFields};

/// Why a call failed, in the terms the UI reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// 401: the session token is unknown or expired.
    SessionExpired,
    /// Any other error answer, with the server's code and message when it sent the envelope.
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// The request did not complete (offline, CORS, DNS…).
    Network,
    /// The answer was not the JSON we expect.
    InvalidResponse,
}

/// A client bound to one API base and one connect session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    base: String,
    token: String,
    accept_language: Option<String>,
}

impl ApiClient {
    /// `base` is the normalized `apiURL` (no trailing `/`).
    pub fn new(base: String, token: String, accept_language: Option<String>) -> Self {
        Self {
            base,
            token,
            accept_language,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    // Each call sends its request when called (not when first polled), so two calls made back to
    // back run concurrently without a join combinator.

    /// `GET /connect/session`.
    pub fn connect_session(&self) -> impl Future<Output = Result<SessionSettings, ApiFailure>> {
        let sent = self.send(latchkey_protocol::routes::CONNECT_SESSION);
        async move { wire::read_session_settings(&data(sent).await?).ok_or(ApiFailure::InvalidResponse) }
    }

    /// `GET /integrations` (already filtered by the session's allowed integrations).
    pub fn integrations(
        &self,
    ) -> impl Future<Output = Result<Vec<ApiPublicIntegration>, ApiFailure>> {
        let sent = self.send(latchkey_protocol::routes::INTEGRATIONS);
        async move {
            let list = data_list(sent).await?;
            Ok(list.iter().filter_map(wire::read_integration).collect())
        }
    }

    /// `GET /providers/:provider`.
    pub fn provider(
        &self,
        provider: &str,
    ) -> impl Future<Output = Result<ProviderSummary, ApiFailure>> {
        let mut path = String::from(latchkey_protocol::routes::PROVIDERS);
        path.push_str(&String::from(js_sys::encode_uri_component(provider)));
        let sent = self.send(&path);
        async move { wire::read_provider(&data(sent).await?).ok_or(ApiFailure::InvalidResponse) }
    }

    /// Credentials without a popup (reference §1.3): `POST {base}{route}{key}` with the JSON body and
    /// the session token plus `params[k]` in the query (no `Authorization` header, as Nango's SDK).
    /// `route` is one of [`latchkey_protocol::routes`]' credential paths.
    pub fn submit_credentials(
        &self,
        route: &str,
        provider_config_key: &str,
        submission: &Submission,
    ) -> impl Future<Output = Result<ConnectPayload, ApiFailure>> {
        let sent = self.post_credentials(route, provider_config_key, submission);
        async move {
            let answer = body(sent).await?;
            latchkey_protocol::codec::read_connect_payload(&answer)
                .ok_or(ApiFailure::InvalidResponse)
        }
    }

    fn post_credentials(
        &self,
        route: &str,
        key: &str,
        submission: &Submission,
    ) -> Result<JsFuture, ApiFailure> {
        let url = web_sys::Url::new(&format!(
            "{}{}{}",
            self.base,
            route,
            String::from(js_sys::encode_uri_component(key))
        ))
        .map_err(|_| ApiFailure::Network)?;
        let query = url.search_params();
        query.append(
            latchkey_protocol::params::CONNECT_SESSION_TOKEN,
            &self.token,
        );
        for (name, value) in &submission.params {
            query.append(&format!("params[{name}]"), value);
        }
        let mut json = object_of(&submission.credentials);
        if !submission.assertion_option.is_empty() {
            json.set_object("assertionOption", object_of(&submission.assertion_option));
        }
        let text = js_sys::JSON::stringify(&json.0).map_err(|_| ApiFailure::Network)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&text);
        let request =
            Request::new_with_str_and_init(&url.href(), &init).map_err(|_| ApiFailure::Network)?;
        let headers = request.headers();
        headers
            .set("Content-Type", "application/json")
            .map_err(|_| ApiFailure::Network)?;
        self.fetch(request)
    }

    /// Starts `GET {base}{path}` with the session token.
    fn send(&self, path: &str) -> Result<JsFuture, ApiFailure> {
        let init = RequestInit::new();
        init.set_method("GET");
        let request = Request::new_with_str_and_init(&format!("{}{}", self.base, path), &init)
            .map_err(|_| ApiFailure::Network)?;
        let headers = request.headers();
        headers
            .set("Authorization", &format!("Bearer {}", self.token))
            .map_err(|_| ApiFailure::Network)?;
        if let Some(lang) = &self.accept_language {
            headers
                .set("Accept-Language", lang)
                .map_err(|_| ApiFailure::Network)?;
        }
        self.fetch(request)
    }

    fn fetch(&self, request: Request) -> Result<JsFuture, ApiFailure> {
        request
            .headers()
            .set("Accept", "application/json")
            .map_err(|_| ApiFailure::Network)?;
        let window = web_sys::window().ok_or(ApiFailure::Network)?;
        Ok(JsFuture::from(window.fetch_with_request(&request)))
    }
}

/// `{name: value, …}` of text pairs.
fn object_of(pairs: &[(String, String)]) -> JsObject {
    let mut o = JsObject::empty();
    for (name, value) in pairs {
        o.set_string(name, value);
    }
    o
}

/// The answer's JSON body, or the failure its status means.
async fn body(sent: Result<JsFuture, ApiFailure>) -> Result<JsObject, ApiFailure> {
    let response: Response = sent?
        .await
        .map_err(|_| ApiFailure::Network)?
        .unchecked_into();
    let status = response.status();
    if status == 401 {
        return Err(ApiFailure::SessionExpired);
    }
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.ok(),
        Err(_) => None,
    };
    classify(status, json.map(JsObject))
}

/// `data` of a success answer that is an object.
async fn data(sent: Result<JsFuture, ApiFailure>) -> Result<JsObject, ApiFailure> {
    body(sent)
        .await?
        .object("data")
        .ok_or(ApiFailure::InvalidResponse)
}

/// `data` of a success answer that is an array.
async fn data_list(sent: Result<JsFuture, ApiFailure>) -> Result<Vec<JsObject>, ApiFailure> {
    body(sent)
        .await?
        .list("data")
        .ok_or(ApiFailure::InvalidResponse)
}

/// A 2xx JSON body as is; anything else as the failure it reports (401 is always an expired session).
pub fn classify<F: Fields>(status: u16, json: Option<F>) -> Result<F, ApiFailure> {
    match (status, json) {
        (401, _) => Err(ApiFailure::SessionExpired),
        (200..=299, Some(json)) => Ok(json),
        (200..=299, None) => Err(ApiFailure::InvalidResponse),
        (status, json) => {
            let (code, message) = json
                .as_ref()
                .and_then(latchkey_protocol::codec::read_api_error)
                .unwrap_or_default();
            Err(ApiFailure::Server {
                status,
                code,
                message,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_protocol::integrations::AuthMode;
    use serde_json::{json, Value};

    #[test]
    fn unauthorized_is_an_expired_session() {
        let body = json!({"error": {"code": "unknown_connect_session_token", "message": "nope"}});
        assert_eq!(classify(401, Some(body)), Err(ApiFailure::SessionExpired));
    }

    #[test]
    fn error_answers_keep_code_and_message() {
        let body = json!({"error": {"code": "not_found", "message": "Unknown provider"}});
        assert_eq!(
            classify(404, Some(body)),
            Err(ApiFailure::Server {
                status: 404,
                code: "not_found".into(),
                message: "Unknown provider".into()
            })
        );
        assert_eq!(
            classify::<Value>(502, None),
            Err(ApiFailure::Server {
                status: 502,
                code: String::new(),
                message: String::new()
            })
        );
        assert_eq!(
            classify::<Value>(200, None),
            Err(ApiFailure::InvalidResponse)
        );
    }

    #[test]
    fn guide_links_are_https_only() {
        let provider = |docs: &str| ProviderSummary {
            display_name: "X".into(),
            auth_mode: AuthMode::Oauth2,
            docs: Some(docs.into()),
            docs_connect: None,
            credentials: Vec::new(),
            connection_config: Vec::new(),
            assertion_option: Vec::new(),
        };
        assert_eq!(
            provider("https://docs.github.com").guide_url(),
            Some("https://docs.github.com")
        );
        assert_eq!(provider("javascript:alert(1)").guide_url(), None);
    }
}
