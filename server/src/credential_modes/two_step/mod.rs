//! `auth_mode: TWO_STEP` (3CX, Dayforce, DocuWare, Drupal, … 64 providers): the end user hands over
//! credentials (`credentials` schema of the catalog entry), the server posts them to the provider's
//! `token_url` as `token_params`/`token_headers` say (form, JSON, XML or a GET), follows
//! `additional_steps`, and keeps the token found at `token_response.token` with its expiry
//! (`token_expiration` + `token_expiration_strategy`, else `token_expires_in_ms`, else the JWT's own
//! `exp`). Renewals post the stored fields again (or the refresh token, where the provider has
//! `refresh_token_params`), through the same single-flight gate as OAuth2 refreshes.
//!
//! As Nango, the submitted fields are stored (sealed) beside the token: renewal needs them; so are
//! the `token_response_headers` of the answers (session cookies). (Some 580 lines of code: one
//! protocol, Nango's `getTwoStepCredentials`, kept together.)

use super::template::{at_path, fill_alternatives, fill_value, is_unresolved, scalar};
use super::template::{strip_credentials, strip_value};
use super::ModeError;
use latchkey_protocol::connection::Credentials;
use latchkey_protocol::ErrorCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// RFC 3986 unreserved characters stay, and `/` and `:` (a host with a port or a path, as Nango's
/// `interconnectUrl` example `fhir.epic.com/interconnect-fhir-oauth`); everything else in a value put
/// into a URL is encoded, so a value cannot add credentials (`@`), a query or a fragment.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b':');

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
    app: &crate::AppState,
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
        app, &url, method, format, &params, &headers, &replacers, wanted,
    )
    .await?;
    let mut responses = vec![first];

    for (i, step) in spec.additional_steps.iter().enumerate() {
        let replacers = replacers_with_steps(&dynamic, connection_config, &responses);
        let url = build_url(&step.token_url, &dynamic, connection_config, &responses)?;
        let format = step.body_format.as_deref().unwrap_or(format);
        let method = step.token_request_method.as_deref().unwrap_or("POST");
        let answer = send(
            app,
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
    let mut credentials = parse(&spec, last, dynamic)?;
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

/// The submitted fields, `connectionConfig`, and the previous steps' answers (`step1`, …).
pub(super) fn replacers(
    dynamic: &Map<String, Value>,
    config: &BTreeMap<String, String>,
    steps: &[Value],
) -> Value {
    let mut r = dynamic.clone();
    r.insert(
        "connectionConfig".into(),
        Value::Object(
            config
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ),
    );
    for (i, s) in steps.iter().enumerate() {
        r.insert(format!("step{}", i + 1), s.clone());
    }
    Value::Object(r)
}

fn replacers_with_steps(
    dynamic: &Map<String, Value>,
    config: &BTreeMap<String, String>,
    steps: &[Value],
) -> Value {
    replacers(dynamic, config, steps)
}

/// The token URL: config and credential values percent-encoded (they cannot change the URL's
/// structure); a step's answer (a URL the provider returned, DocuWare's identity service) as is.
fn build_url(
    template: &str,
    dynamic: &Map<String, Value>,
    config: &BTreeMap<String, String>,
    steps: &[Value],
) -> Result<url::Url, ModeError> {
    let encode = |s: String| Value::String(utf8_percent_encode(&s, URL_VALUE).to_string());
    let mut flat = Map::new();
    for (k, v) in dynamic {
        if let Some(s) = scalar(v) {
            flat.insert(k.clone(), encode(s));
        }
    }
    for (k, v) in config {
        if !v.is_empty() {
            flat.insert(k.clone(), encode(v.clone()));
        }
    }
    for (i, s) in steps.iter().enumerate() {
        flat.insert(format!("step{}", i + 1), s.clone());
    }
    let cleaned = template.replace("connectionConfig.", "");
    let cleaned = strip_credentials(&cleaned);
    let filled = fill_alternatives(&cleaned, &Value::Object(flat));
    if is_unresolved(&filled) {
        return Err(coded(
            ErrorCode::MissingTokenUrl,
            "The token URL needs connection config values that are missing.",
        ));
    }
    url::Url::parse(filled.trim()).map_err(|_| {
        coded(
            ErrorCode::MissingTokenUrl,
            "Token URL is missing or invalid.",
        )
    })
}

/// The `wanted` response headers (Nango's `extractResponseHeaderValues`): a header by its name; each
/// `Set-Cookie` by its cookie's name, and all cookies as `_cookies` (`a=1; b=2`).
fn kept_headers(
    headers: &reqwest::header::HeaderMap,
    wanted: &[String],
) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    let mut cookies = Vec::new();
    for name in wanted {
        let lower = name.to_ascii_lowercase();
        if lower == "set-cookie" {
            for value in headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
            {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=').filter(|(k, _)| !k.trim().is_empty()) {
                    kept.insert(k.trim().to_string(), v.trim().to_string());
                    cookies.push(format!("{}={}", k.trim(), v.trim()));
                }
            }
        } else if let Some(v) = headers.get(lower.as_str()).and_then(|v| v.to_str().ok()) {
            kept.insert(name.clone(), v.to_string());
        }
    }
    if !cookies.is_empty() {
        kept.insert("_cookies".into(), cookies.join("; "));
    }
    kept
}

/// One request to the provider; its answer as JSON (a non-JSON answer as a string) and the
/// `wanted` headers of the answer.
#[allow(clippy::too_many_arguments)]
async fn send(
    app: &crate::AppState,
    url: &url::Url,
    method: &str,
    format: &str,
    params: &Map<String, Value>,
    headers: &Map<String, Value>,
    replacers: &Value,
    wanted: &[String],
) -> Result<(Value, BTreeMap<String, String>), ModeError> {
    let body: Map<String, Value> = params
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => {
                    Value::String(fill_alternatives(&strip_credentials(s), replacers))
                }
                other => fill_value(&strip_value(other), replacers),
            };
            (k.clone(), v)
        })
        .collect();
    let method = if method.eq_ignore_ascii_case("GET") {
        reqwest::Method::GET
    } else {
        reqwest::Method::POST
    };
    let fetch_error = |m: String| coded(ErrorCode::TwoStepCredentialsFetchError, m);
    let mut req = app
        .outbound
        .request(method.clone(), url.as_str())
        .map_err(|e| fetch_error(e.to_string()))?;
    for (k, v) in headers {
        let Some(v) = v.as_str() else { continue };
        req = req.header(
            k.as_str(),
            fill_alternatives(&strip_credentials(v), replacers),
        );
    }
    if method == reqwest::Method::POST {
        req = match format {
            "form" => {
                let pairs: Vec<(String, String)> = body
                    .iter()
                    .map(|(k, v)| (k.clone(), scalar(v).unwrap_or_else(|| v.to_string())))
                    .collect();
                req.form(&pairs)
            }
            "xml" => {
                let xml = super::xml::to_xml(&body).map_err(|e| fetch_error(e.to_string()))?;
                req.body(xml)
            }
            _ => req.json(&body),
        };
    }
    let res = req.send().await.map_err(|e| {
        fetch_error(format!(
            "the token URL cannot be reached: {}",
            e.without_url()
        ))
    })?;
    let status = res.status();
    let kept = kept_headers(res.headers(), wanted);
    let bytes = crate::oauth::outbound::read_capped(res, crate::oauth::outbound::TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| fetch_error(e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if status.is_client_error() || status.is_server_error() {
        return Err(fetch_error(format!(
            "the provider answered {}{}",
            status.as_u16(),
            super::provider_message(&text)
        )));
    }
    if status != reqwest::StatusCode::OK && status != reqwest::StatusCode::CREATED {
        return Err(coded(
            ErrorCode::InvalidTwoStepCredentials,
            "Invalid credentials provided to create a Two Step connection",
        ));
    }
    // An XML answer (when the request was XML, as Nango) is read into the same JSON shape the
    // catalog's `token_response` paths expect.
    let answer = serde_json::from_str(&text)
        .ok()
        .or_else(|| {
            (format == "xml")
                .then(|| super::xml::from_xml(&text))
                .flatten()
        })
        .unwrap_or(Value::String(text));
    Ok((answer, kept))
}

/// Nango's `parseRawCredentials(…, 'TWO_STEP')`; an unreadable answer is a fetch error, as there.
fn parse(spec: &Spec, raw: Value, dynamic: Map<String, Value>) -> Result<Credentials, ModeError> {
    let incomplete = || {
        coded(
            ErrorCode::TwoStepCredentialsFetchError,
            "the provider's answer has no token (incomplete_raw_credentials)",
        )
    };
    let token = match spec.token_response.token.as_deref() {
        Some(path) => at_path(&raw, path).and_then(scalar),
        None => scalar(&raw),
    }
    .filter(|t| !t.is_empty())
    .ok_or_else(incomplete)?;
    let refresh_token = spec
        .token_response
        .refresh_token
        .as_deref()
        .and_then(|p| at_path(&raw, p))
        .and_then(scalar);
    let expiration = spec
        .token_response
        .token_expiration
        .as_deref()
        .and_then(|p| at_path(&raw, p))
        .filter(|v| !v.is_null());
    let now = crate::time::now_unix();
    let strategy = spec
        .token_response
        .token_expiration_strategy
        .as_deref()
        .unwrap_or("expireAt");
    let mut expires_at = match (expiration, strategy) {
        (Some(v), "expireIn") => Some(now + seconds(v)?),
        (Some(v), _) => Some(instant(v)?),
        (None, _) => match spec.token_expires_in_ms {
            Some(ms) if ms > 0 => Some(now + ms / 1000),
            _ => None,
        },
    };
    // A JWT token's own `exp` (minus Nango's margin) when the answer gave no expiry.
    if expiration.is_none() {
        for t in std::iter::once(&token).chain(refresh_token.as_ref()) {
            if let Some(exp) = jwt_exp(t) {
                let at = exp - REFRESH_MARGIN_SECS;
                expires_at = Some(expires_at.map_or(at, |e: i64| e.min(at)));
            }
        }
    }
    let mut fields = dynamic;
    fields.remove("token");
    fields.remove("refresh_token");
    Ok(Credentials::TwoStep {
        token,
        refresh_token,
        expires_at: expires_at.map(crate::time::unix_to_iso),
        raw,
        fields,
    })
}

/// Nango renews a token whose JWT `exp` is this close.
const REFRESH_MARGIN_SECS: i64 = 5 * 60;

/// `expires_in` as seconds: a number or a numeric string.
fn seconds(v: &Value) -> Result<i64, ModeError> {
    scalar(v)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(|f| f as i64)
        .ok_or_else(|| {
            coded(
                ErrorCode::TwoStepCredentialsFetchError,
                "the provider's token lifetime is not a number of seconds",
            )
        })
}

/// An absolute expiry: unix seconds or milliseconds, or a date (RFC 3339 / RFC 2822).
fn instant(v: &Value) -> Result<i64, ModeError> {
    let bad = || {
        coded(
            ErrorCode::TwoStepCredentialsFetchError,
            "the provider's token expiry is not a date",
        )
    };
    let s = scalar(v).ok_or_else(bad)?;
    if let Ok(n) = s.trim().parse::<f64>() {
        let n = n as i64;
        return Ok(if n > 100_000_000_000 { n / 1000 } else { n });
    }
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(s.trim()))
        .map(|t| t.timestamp())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| t.and_utc().timestamp())
        })
        .map_err(|_| bad())
}

/// The `exp` claim of a JWT-shaped token, read without verifying (only to schedule the renewal).
pub(super) fn jwt_exp(token: &str) -> Option<i64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> Spec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn token_and_expiry_follow_the_token_response_block() {
        let s = spec(json!({"token_response": {"token": "data.access_token",
            "token_expiration": "expires_in", "token_expiration_strategy": "expireIn"}}));
        let raw = json!({"data": {"access_token": "T"}, "expires_in": "3600"});
        let mut fields = Map::new();
        fields.insert("clientId".into(), json!("c"));
        let c = parse(&s, raw, fields).unwrap();
        let Credentials::TwoStep {
            token,
            expires_at,
            fields,
            ..
        } = c
        else {
            panic!()
        };
        assert_eq!(token, "T");
        assert_eq!(fields["clientId"], "c");
        let at = chrono::DateTime::parse_from_rfc3339(&expires_at.unwrap()).unwrap();
        assert!((at.timestamp() - crate::time::now_unix() - 3600).abs() < 5);
    }

    #[test]
    fn a_url_value_cannot_add_credentials_a_query_or_a_fragment() {
        let d = Map::new();
        let url = |domain: &str| {
            let cfg: BTreeMap<String, String> = [("domain".to_string(), domain.to_string())].into();
            build_url("https://${connectionConfig.domain}/token", &d, &cfg, &[])
        };
        let e = url("pbx.example.com@evil.com").unwrap_err();
        assert!(matches!(e, ModeError::Coded(ErrorCode::MissingTokenUrl, _)));
        assert_eq!(
            url("pbx.example.com").unwrap().as_str(),
            "https://pbx.example.com/token"
        );
        assert_eq!(
            url("h.example.com:8443/p?x#y").unwrap().as_str(),
            "https://h.example.com:8443/p%3Fx%23y/token"
        );
    }
}
