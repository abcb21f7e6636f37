//! Credential verification before an API_KEY or BASIC connection is saved (reference §3.8, "credential
//! test"): when the provider's catalog entry declares `proxy.verification`, the server calls that
//! endpoint with the submitted credentials and refuses to save them unless the provider answers 2xx.
//!
//! Shape of the catalog block (Nango's schema):
//! ```yaml
//! proxy:
//!     base_url: https://api.example.com          # `${connectionConfig.x}` allowed
//!     headers: { authorization: Bearer ${apiKey} }
//!     query: { api_key: ${apiKey} }               # optional
//!     verification:
//!         method: GET                             # default GET
//!         endpoints: [/v1/me]                     # or `endpoint: /v1/me`; the first 2xx wins
//!         base_url_override: https://other.example.com
//!         headers: { x-extra: value }
//! ```
//! Only a refusal fails the submission: a 4xx answer (Nango fails on any error). A provider that is
//! down (5xx) or unreachable does not block the end user — the credentials are saved and a warning is
//! logged — because the check is there to catch a mistyped key, and an outage (or an offline
//! deployment) must not make a whole integration unusable.
//!
//! The request goes through the guarded outbound client (no redirects, no private addresses unless
//! allowed). A base URL built from the connection config must satisfy the field's `pattern` (it
//! receives the credential). Neither the credential nor the provider's body reaches a log line or
//! the error message.

use crate::catalog::{interpolate_param, interpolate_url, CatalogEntry};
use crate::outbound::OutboundClient;
use latchkey_protocol::connection::Credentials;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// The provider refused the credentials (or answered something other than 2xx).
    #[error("The provider rejected the credentials (HTTP {0}).")]
    Rejected(u16),
    /// The catalog entry's verification block cannot be used with this connection config.
    #[error("The credentials could not be verified: {0}")]
    Config(String),
}

fn str_map(v: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    v.and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), crate::catalog::param_string(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks `credentials` against the provider's `proxy.verification` endpoint. `Ok(())` when the entry
/// declares none (nothing to check) or when the provider accepted them.
pub async fn verify(
    outbound: &OutboundClient,
    entry: &CatalogEntry,
    credentials: &Credentials,
    connection_config: &BTreeMap<String, String>,
) -> Result<(), VerificationError> {
    let Some(proxy) = entry.raw.get("proxy") else {
        return Ok(());
    };
    let Some(verification) = proxy.get("verification") else {
        return Ok(());
    };
    // Values a template may name: the connection config and the submitted credential.
    let mut values = connection_config.clone();
    let (basic, default_bearer) = match credentials {
        Credentials::ApiKey { api_key } => {
            values.insert("apiKey".into(), api_key.clone());
            values.insert("credentials.apiKey".into(), api_key.clone());
            (None, Some(api_key.clone()))
        }
        Credentials::Basic { username, password } => {
            for (k, v) in [("username", username), ("password", password)] {
                values.insert(k.into(), v.clone());
                values.insert(format!("credentials.{k}"), v.clone());
            }
            (Some((username.clone(), password.clone())), None)
        }
        // Issue 15: JWT and SIGNATURE credentials are tested with the token the server made.
        Credentials::Jwt { .. } | Credentials::Signature { .. } => {
            let filled =
                crate::catalog::proxy_template::Values::new(credentials, connection_config);
            values.extend(filled.into_map());
            // As the proxy: a JWT is a Bearer unless the provider's headers place it.
            let bearer = match credentials {
                Credentials::Jwt { token, .. } => Some(token.clone()),
                _ => None,
            };
            (None, bearer)
        }
        _ => return Ok(()),
    };
    let fields = entry
        .provider
        .as_ref()
        .map(|p| p.connection_config.clone())
        .unwrap_or_default();
    let base_template = verification
        .get("base_url_override")
        .or_else(|| proxy.get("base_url"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| VerificationError::Config("the provider has no base URL".into()))?;
    let base = interpolate_url(base_template, &values, &fields)
        .map_err(|e| VerificationError::Config(e.to_string()))?;
    let method = verification
        .get("method")
        .and_then(|v| v.as_str())
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| VerificationError::Config("invalid verification method".into()))?;
    let mut endpoints: Vec<String> = verification
        .get("endpoints")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if let Some(one) = verification.get("endpoint").and_then(|v| v.as_str()) {
        endpoints.push(one.to_string());
    }
    if endpoints.is_empty() {
        return Err(VerificationError::Config(
            "the verification block names no endpoint".into(),
        ));
    }
    let mut headers = str_map(proxy.get("headers"));
    headers.extend(str_map(verification.get("headers")));
    let query = str_map(proxy.get("query"));
    let interpolate_all = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| {
                interpolate_param(v, &values)
                    .map(|v| (k.clone(), v))
                    .map_err(|e| VerificationError::Config(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let headers = interpolate_all(&headers)?;
    let query = interpolate_all(&query)?;
    let has_auth_header = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));

    let mut last_status = 0;
    let provider_name = entry
        .raw
        .get("display_name")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    for endpoint in &endpoints {
        let endpoint = interpolate_param(endpoint, &values)
            .map_err(|e| VerificationError::Config(e.to_string()))?;
        let url = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            endpoint.trim_start_matches('/')
        );
        let mut req = outbound
            .request(method.clone(), &url)
            .map_err(|e| VerificationError::Config(e.to_string()))?;
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if !query.is_empty() {
            req = req.query(&query);
        }
        if !has_auth_header {
            if let Some((user, pass)) = &basic {
                req = req.basic_auth(user, Some(pass));
            } else if let (Some(token), true) = (&default_bearer, query.is_empty()) {
                req = req.bearer_auth(token);
            }
        }
        match req.send().await {
            Ok(res) if res.status().is_success() => return Ok(()),
            Ok(res) if res.status().is_client_error() => last_status = res.status().as_u16(),
            Ok(res) => {
                tracing::warn!(provider = %provider_name, status = res.status().as_u16(), "credential verification endpoint failed; saving the credentials unverified");
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(provider = %provider_name, error = %e.without_url(), "credential verification endpoint unreachable; saving the credentials unverified");
                return Ok(());
            }
        }
    }
    Err(VerificationError::Rejected(last_status))
}
