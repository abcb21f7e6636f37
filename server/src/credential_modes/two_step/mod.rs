//! `auth_mode: TWO_STEP` (3CX, Dayforce, DocuWare, Drupal, … 64 providers): the end user hands over
//! credentials (`credentials` schema of the catalog entry), the server posts them to the provider's
//! `token_url` as `token_params`/`token_headers` say (form, JSON, XML or a GET), follows
//! `additional_steps`, and keeps the token found at `token_response.token` with its expiry
//! (`token_expiration` + `token_expiration_strategy`, else `token_expires_in_ms`, else the JWT's own
//! `exp`). Renewals post the stored fields again (or the refresh token, where the provider has
//! `refresh_token_params`), through the same single-flight gate as OAuth2 refreshes.
//!
//! As Nango, the submitted fields are stored (sealed) beside the token: renewal needs them; so are
//! the `token_response_headers` of the answers (session cookies).
//!
//! One protocol, Nango's `getTwoStepCredentials`, in three parts: [`fetch`] here runs the steps,
//! `request.rs` builds and sends each request, `response.rs` reads the token and its expiry from the
//! last answer.

mod request;
mod response;

pub(super) use request::replacers;
pub(super) use response::jwt_exp;

use super::template::{at_path, scalar};
use crate::connections::ModeError;
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ErrorCode;
use request::{build_url, replacers_with_steps, send};
use response::parse;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The TWO_STEP fields of a catalog entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Spec {
    #[serde(default)]
    pub token_url: Option<Value>,
    #[serde(default)]
    pub token_params: Map<String, Value>,
    #[serde(default)]
    pub token_headers: Map<String, Value>,
    #[serde(default)]
    pub refresh_url: Option<String>,
    #[serde(default)]
    pub refresh_token_params: Option<Map<String, Value>>,
    #[serde(default)]
    pub refresh_token_headers: Option<Map<String, Value>>,
    #[serde(default)]
    pub token_request_method: Option<String>,
    #[serde(default)]
    pub body_format: Option<String>,
    pub token_response: TokenResponse,
    #[serde(default)]
    pub token_expires_in_ms: Option<i64>,
    #[serde(default)]
    pub additional_steps: Vec<Step>,
    #[serde(default)]
    pub token_response_metadata: Vec<String>,
    /// Response headers kept with the credentials (SAP Business One's session cookies: each
    /// `Set-Cookie` as its name, all of them as `_cookies` for a `cookie` header template).
    #[serde(default)]
    pub token_response_headers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub token_expiration: Option<String>,
    #[serde(default)]
    pub token_expiration_strategy: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub token_url: String,
    #[serde(default)]
    pub token_params: Map<String, Value>,
    #[serde(default)]
    pub token_headers: Map<String, Value>,
    #[serde(default)]
    pub token_request_method: Option<String>,
    #[serde(default)]
    pub body_format: Option<String>,
}

/// The credentials and the `token_response_metadata` to copy into the connection config.
#[derive(Debug)]
pub struct Fetched {
    pub credentials: Credentials,
    pub metadata: BTreeMap<String, String>,
}

fn coded(code: ErrorCode, message: impl Into<String>) -> ModeError {
    ModeError::Coded(code, message.into())
}

/// Posts the credentials to the provider and returns the stored form. `renewal` is true when
/// renewing a stored connection (then a stored refresh token is used where the provider allows it).
/// `integration` holds the integration's `integration_config` values: those of fields the provider
/// declares there (Sage Intacct's client id and secret) win over submitted ones for the request, and
/// are never stored with the connection (Nango's `applyIntegrationConfigToTwoStepCredentials`).
pub async fn fetch(
    upstream: crate::outbound::Upstream<'_>,
    raw: &Value,
    mut dynamic: Map<String, Value>,
    connection_config: &BTreeMap<String, String>,
    renewal: bool,
    integration: &BTreeMap<String, String>,
) -> Result<Fetched, ModeError> {
    let preconfigured: Vec<&String> = raw
        .get("integration_config")
        .and_then(Value::as_object)
        .map(|schema| {
            schema
                .keys()
                .filter(|k| integration.get(*k).is_some_and(|v| !v.is_empty()))
                .collect()
        })
        .unwrap_or_default();
    for field in &preconfigured {
        dynamic.insert((*field).clone(), Value::String(integration[*field].clone()));
    }
    let spec: Spec = serde_json::from_value(raw.clone()).map_err(|e| {
        coded(
            ErrorCode::TwoStepCredentialsFetchError,
            format!("the provider's TWO_STEP catalog entry cannot be read: {e}"),
        )
    })?;
    // The key material for a client assertion: used now, never stored (see `assertion`).
    let assertion_option = match dynamic.remove("assertionOption") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for reserved in ["type", "token", "expires_at", "raw"] {
        dynamic.remove(reserved);
    }
    if !renewal {
        dynamic.remove("refresh_token");
    }
    // Providers that authenticate with a JWT of their own (Google service accounts, Salesforce JWT
    // bearer): sign it first, it is posted as `${token}`.
    if let Some(jwt) = super::jwt::JwtSpec::of(raw) {
        let signed = super::jwt::sign(&jwt, &dynamic, connection_config)?;
        dynamic.insert("token".into(), Value::String(signed.token));
    }
    // Client assertions (`${credentials.assertion}`), unless a refresh token renews instead.
    if let Some(spec) = super::assertion::AssertionSpec::of(raw) {
        if !renewal || !dynamic.contains_key("refresh_token") {
            super::assertion::ensure(&spec?, &mut dynamic, &assertion_option, connection_config)?;
        }
    }

    let has_refresh_config =
        spec.refresh_token_params.is_some() || spec.refresh_token_headers.is_some();
    let is_refresh = has_refresh_config && dynamic.contains_key("refresh_token");
    let refresh_url = spec
        .refresh_url
        .clone()
        .filter(|_| is_refresh)
        .map(Value::String);
    let url_template = refresh_url.or_else(|| spec.token_url.clone());
    let url_template = url_template
        .as_ref()
        .and_then(|u| match u {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.get("TWO_STEP").and_then(Value::as_str).map(String::from),
            _ => None,
        })
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            coded(
                ErrorCode::MissingTokenUrl,
                "Token URL is missing or invalid.",
            )
        })?;
    let params = if is_refresh {
        spec.refresh_token_params.clone().unwrap_or_default()
    } else {
        spec.token_params.clone()
    };
    let headers = if is_refresh {
        spec.refresh_token_headers
            .clone()
            .unwrap_or_else(|| spec.token_headers.clone())
    } else {
        spec.token_headers.clone()
    };

    let replacers = replacers(&dynamic, connection_config, &[]);
    let url = build_url(&url_template, &dynamic, connection_config, &[])?;
    let format = spec.body_format.as_deref().unwrap_or("json");
    let method = spec.token_request_method.as_deref().unwrap_or("POST");
    let wanted = &spec.token_response_headers;
    let (first, mut kept) = send(
        upstream.outbound,
        &url,
        method,
        format,
        &params,
        &headers,
        &replacers,
        wanted,
    )
    .await?;
    let mut responses = vec![first];

    for (i, step) in spec.additional_steps.iter().enumerate() {
        let replacers = replacers_with_steps(&dynamic, connection_config, &responses);
        let url = build_url(&step.token_url, &dynamic, connection_config, &responses)?;
        let format = step.body_format.as_deref().unwrap_or(format);
        let method = step.token_request_method.as_deref().unwrap_or("POST");
        let answer = send(
            upstream.outbound,
            &url,
            method,
            format,
            &step.token_params,
            &step.token_headers,
            &replacers,
            wanted,
        )
        .await
        .map(|(answer, headers)| {
            kept.extend(headers);
            answer
        })
        .map_err(|e| match e {
            ModeError::Coded(ErrorCode::InvalidTwoStepCredentials, m) => coded(
                ErrorCode::InvalidTwoStepCredentials,
                format!("step {}: {m}", i + 2),
            ),
            other => other,
        })?;
        responses.push(answer);
    }
    let last = responses.pop().unwrap_or_default();
    let mut credentials = parse(&spec, last, dynamic, upstream.clock.now_unix())?;
    if let Credentials::TwoStep { fields, .. } = &mut credentials {
        for field in &preconfigured {
            fields.remove(*field);
        }
        for (name, value) in kept {
            if !["type", "token", "refresh_token", "expires_at", "raw"].contains(&name.as_str()) {
                fields.insert(name, Value::String(value));
            }
        }
    }
    let metadata = match &credentials {
        Credentials::TwoStep { raw, .. } => spec
            .token_response_metadata
            .iter()
            .filter_map(|k| Some((k.clone(), at_path(raw, k).and_then(scalar)?)))
            .collect(),
        _ => BTreeMap::new(),
    };
    Ok(Fetched {
        credentials,
        metadata,
    })
}

/// The fields a renewal posts again: the stored ones plus the refresh token.
pub fn renewal_fields(c: &Credentials) -> Map<String, Value> {
    let Credentials::TwoStep {
        fields,
        refresh_token,
        ..
    } = c
    else {
        return Map::new();
    };
    let mut dynamic = fields.clone();
    if let Some(rt) = refresh_token {
        dynamic.insert("refresh_token".into(), Value::String(rt.clone()));
    }
    dynamic
}
