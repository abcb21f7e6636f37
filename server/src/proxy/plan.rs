//! Planning one proxied call: from the provider's `proxy` block, the caller's options and the
//! connection's (fresh) credentials to the upstream URL and headers. Pure: no I/O, so every rule is
//! unit-tested here and the transport only sends what the plan says.
//!
//! - **Base URL**: `Base-Url-Override` when given, else `proxy.base_url` with `${connectionConfig.x}`
//!   filled; `a || b` takes the first alternative whose placeholders all have values (Nango's rule).
//!   Values are percent-encoded, so they cannot change the URL's structure — except a placeholder
//!   that *starts* the template (`${connectionConfig.instance_url}`, Salesforce), which supplies the
//!   whole origin and must itself be an http(s) URL. Either way the outbound guard still decides
//!   whether the resulting host may be dialled.
//! - **URL**: base path + the caller's endpoint (the path after `/proxy`), the caller's query string
//!   as sent, then `proxy.query` (a key the caller also sent is replaced, as Nango's `searchParams.set`).
//! - **Headers**, later ones winning: the caller's `Content-Type`; the default credential
//!   (`Authorization: Bearer` for OAuth2 and client-credentials tokens, `Basic` for BASIC, `Bearer`
//!   for an API key whose provider has no template naming it — Nango leaves those bare, which only
//!   ever fails); the provider's `proxy.headers`; the caller's `Nango-Proxy-*` headers.
//!
//! A provider header or query value whose placeholder has no value is left out (Nango's behaviour
//! for query values); one that needs a computed signature is refused ([`PlanError::Unsupported`]).

use super::options::ProxyOptions;
use super::retry::RetryHints;
use crate::catalog::proxy_template::{self as template, TemplateError, Values};
use crate::catalog::{interpolate, param_string, MissingParams};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use base64::Engine as _;
use latchkey_protocol::connection::Credentials;
use std::collections::BTreeMap;

/// The catalog's `proxy` block, as far as the proxy uses it.
#[derive(Debug, Clone, Default)]
pub struct ProxySpec {
    pub base_url: Option<String>,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub retry: RetryHints,
}

fn string_pairs(v: Option<&serde_json::Value>) -> Vec<(String, String)> {
    v.and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), param_string(v)))
                .collect()
        })
        .unwrap_or_default()
}

impl ProxySpec {
    /// From a raw catalog entry (what `GET /providers/:provider` shows).
    pub fn from_entry(raw: &serde_json::Value) -> Self {
        let proxy = raw.get("proxy");
        let get = |k: &str| proxy.and_then(|p| p.get(k));
        Self {
            base_url: get("base_url")
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
            headers: string_pairs(get("headers")),
            query: string_pairs(get("query")),
            retry: get("retry").map(RetryHints::from_json).unwrap_or_default(),
        }
    }
}

/// What the transport sends.
#[derive(Debug, Clone)]
pub struct Plan {
    pub url: url::Url,
    pub headers: HeaderMap,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("The provider has no proxy base URL; pass one with Base-Url-Override.")]
    NoBaseUrl,
    #[error("The provider's base URL needs connection config value(s): {}.", .0.join(", "))]
    MissingConfig(Vec<String>),
    #[error("The base URL built from the connection config is not an http(s) URL.")]
    BadBaseUrl,
    #[error("The provider's proxy template uses {0}.")]
    Unsupported(String),
    #[error("The value for header '{0}' cannot be sent in an HTTP header.")]
    BadHeader(String),
}

/// Headers the caller may not set through `Nango-Proxy-*`: they describe the connection to us or
/// the framing of the body, which the transport owns.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// Builds the upstream request of one attempt.
pub fn build(
    spec: &ProxySpec,
    opts: &ProxyOptions,
    endpoint: &str,
    query: Option<&str>,
    content_type: Option<&HeaderValue>,
    credentials: &Credentials,
    connection_config: &BTreeMap<String, String>,
) -> Result<Plan, PlanError> {
    let values = Values::new(credentials, connection_config);
    let url = upstream_url(spec, opts, endpoint, query, &values, connection_config)?;

    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    if let Some(auth) = default_authorization(spec, credentials) {
        let value = HeaderValue::from_str(&auth)
            .map_err(|_| PlanError::BadHeader("authorization".into()))?;
        headers.insert(header::AUTHORIZATION, value);
    }
    for (name, tmpl) in &spec.headers {
        let Some(value) = rendered(tmpl, &values)? else {
            continue;
        };
        let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map_err(|_| PlanError::BadHeader(name.clone()))?;
        let value =
            HeaderValue::from_str(&value).map_err(|_| PlanError::BadHeader(name.to_string()))?;
        headers.insert(name, value);
    }
    let mut replaced = Vec::new();
    for (name, value) in &opts.forwarded {
        if is_hop_by_hop(name) {
            continue;
        }
        if replaced.contains(name) {
            headers.append(name.clone(), value.clone());
        } else {
            headers.insert(name.clone(), value.clone());
            replaced.push(name.clone());
        }
    }
    Ok(Plan { url, headers })
}

/// A template's value; `None` when a placeholder has no value for this connection.
fn rendered(tmpl: &str, values: &Values) -> Result<Option<String>, PlanError> {
    match template::render(tmpl, values) {
        Ok(v) => Ok(Some(v)),
        Err(TemplateError::Missing(_)) => Ok(None),
        Err(TemplateError::Unsupported(what)) => {
            Err(PlanError::Unsupported(format!("${{{what}}}")))
        }
    }
}

fn default_authorization(spec: &ProxySpec, credentials: &Credentials) -> Option<String> {
    match credentials {
        Credentials::OAuth2 { access_token, .. } | Credentials::App { access_token, .. } => {
            Some(format!("Bearer {access_token}"))
        }
        Credentials::OAuth2Cc { token, .. } => Some(format!("Bearer {token}")),
        Credentials::Basic { username, password } => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        )),
        Credentials::ApiKey { api_key } => {
            let placed = spec
                .headers
                .iter()
                .chain(&spec.query)
                .any(|(_, t)| template::names_credential(t));
            (!placed).then(|| format!("Bearer {api_key}"))
        }
        Credentials::Unauthenticated {} => None,
        // Nango: a Bearer token unless the provider's headers place it (`${accessToken}`, or a
        // session cookie from the token response).
        Credentials::TwoStep { token, .. }
        | Credentials::Jwt { token, .. }
        | Credentials::Signature { token, .. } => {
            let placed = spec.headers.iter().any(|(name, t)| {
                t.contains("${accessToken}")
                    || (name.eq_ignore_ascii_case("cookie") && t.contains("_cookies"))
            });
            (!placed).then(|| format!("Bearer {token}"))
        }
        // Bill's API takes the session id and developer key in each request body (Nango adds none).
        Credentials::Bill { .. } => None,
        // Signed per request by `proxy::call` (OAuth 1.0a, `credential_modes::tba`).
        Credentials::Tba { .. } => None,
        // Signed per request by the proxy (crate::oauth::oauth1::Consumer::authorization).
        Credentials::OAuth1 { .. } => None,
        // SigV4-signed per request by the proxy (crate::credential_modes::aws_sigv4::sign).
        Credentials::AwsSigV4 { .. } => None,
    }
}

fn upstream_url(
    spec: &ProxySpec,
    opts: &ProxyOptions,
    endpoint: &str,
    query: Option<&str>,
    values: &Values,
    connection_config: &BTreeMap<String, String>,
) -> Result<url::Url, PlanError> {
    let mut url = match &opts.base_url_override {
        Some(u) => u.clone(),
        None => base_url(
            spec.base_url.as_deref().ok_or(PlanError::NoBaseUrl)?,
            connection_config,
        )?,
    };
    let base_path = url.path().trim_end_matches('/').to_string();
    let endpoint = endpoint.trim_start_matches('/');
    if !endpoint.is_empty() {
        url.set_path(&format!("{base_path}/{endpoint}"));
    }
    let query = match (url.query().filter(|q| !q.is_empty()), query) {
        (Some(base), Some(q)) if !q.is_empty() => Some(format!("{base}&{q}")),
        (Some(base), _) => Some(base.to_string()),
        (None, q) => q.filter(|q| !q.is_empty()).map(String::from),
    };
    url.set_query(query.as_deref());
    for (key, tmpl) in &spec.query {
        let Some(value) = rendered(tmpl, values)? else {
            continue;
        };
        let present = url.query_pairs().any(|(k, _)| k == key.as_str());
        if present {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != key.as_str())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        url.query_pairs_mut().append_pair(key, &value);
    }
    Ok(url)
}

/// Fills a `proxy.base_url` template (see the module doc for the rules).
pub fn base_url(
    template: &str,
    connection_config: &BTreeMap<String, String>,
) -> Result<url::Url, PlanError> {
    let mut first_missing: Option<MissingParams> = None;
    for alternative in template.split("||").map(str::trim) {
        match fill_base(alternative, connection_config) {
            Ok(filled) => {
                return url::Url::parse(&filled)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or(PlanError::BadBaseUrl)
            }
            Err(missing) => {
                first_missing.get_or_insert(missing);
            }
        }
    }
    Err(PlanError::MissingConfig(
        first_missing.map(|m| m.0).unwrap_or_default(),
    ))
}

fn fill_base(
    alternative: &str,
    connection_config: &BTreeMap<String, String>,
) -> Result<String, MissingParams> {
    let Some(after) = alternative.strip_prefix("${") else {
        return interpolate(alternative, connection_config);
    };
    let end = after
        .find('}')
        .ok_or_else(|| MissingParams(vec![after.to_string()]))?;
    let key = after[..end]
        .strip_prefix("connectionConfig.")
        .unwrap_or(&after[..end]);
    let origin = connection_config
        .get(key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| MissingParams(vec![key.to_string()]))?;
    let rest = interpolate(&after[end + 1..], connection_config)?;
    Ok(format!("{}{rest}", origin.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> ProxySpec {
        ProxySpec::from_entry(&json!({ "proxy": v }))
    }

    fn opts() -> ProxyOptions {
        ProxyOptions {
            connection_id: "c".into(),
            provider_config_key: "k".into(),
            base_url_override: None,
            retries: 0,
            retry_on: vec![],
            decompress: false,
            forwarded: vec![],
        }
    }

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn api_key(k: &str) -> Credentials {
        Credentials::ApiKey { api_key: k.into() }
    }

    fn header(plan: &Plan, name: &str) -> Option<String> {
        plan.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn oauth2_gets_a_bearer_and_the_endpoint_and_query_are_kept() {
        let s = spec(json!({"base_url": "https://api.github.com/"}));
        let c = Credentials::OAuth2 {
            access_token: "tok".into(),
            refresh_token: None,
            expires_at: None,
            raw: json!({}),
            config_override: None,
        };
        let p = build(
            &s,
            &opts(),
            "/repos/a%20b/issues",
            Some("state=open&q=x+y"),
            None,
            &c,
            &cfg(&[]),
        )
        .unwrap();
        assert_eq!(
            p.url.as_str(),
            "https://api.github.com/repos/a%20b/issues?state=open&q=x+y"
        );
        assert_eq!(header(&p, "authorization").unwrap(), "Bearer tok");
    }

    #[test]
    fn api_key_goes_where_the_provider_template_says() {
        let s = spec(json!({
            "base_url": "https://api.example.com/v1",
            "headers": {"x-api-key": "${apiKey}", "anthropic-version": "${connectionConfig.version}"},
        }));
        let p = build(&s, &opts(), "me", None, None, &api_key("sk"), &cfg(&[])).unwrap();
        assert_eq!(p.url.as_str(), "https://api.example.com/v1/me");
        assert_eq!(header(&p, "x-api-key").unwrap(), "sk");
        assert_eq!(header(&p, "authorization"), None, "no default bearer");
        assert_eq!(
            header(&p, "anthropic-version"),
            None,
            "a template without a value is left out"
        );

        let q =
            spec(json!({"base_url": "https://api.example.com", "query": {"api_key": "${apiKey}"}}));
        let p = build(
            &q,
            &opts(),
            "/x",
            Some("api_key=forged&a=1"),
            None,
            &api_key("sk"),
            &cfg(&[]),
        )
        .unwrap();
        assert_eq!(p.url.as_str(), "https://api.example.com/x?a=1&api_key=sk");
        assert_eq!(header(&p, "authorization"), None);
    }

    #[test]
    fn api_key_without_a_template_is_a_bearer_and_basic_is_basic() {
        let s = spec(json!({"base_url": "https://api.example.com"}));
        let p = build(&s, &opts(), "", None, None, &api_key("sk"), &cfg(&[])).unwrap();
        assert_eq!(header(&p, "authorization").unwrap(), "Bearer sk");
        let basic = Credentials::Basic {
            username: "u".into(),
            password: "p".into(),
        };
        let p = build(&s, &opts(), "", None, None, &basic, &cfg(&[])).unwrap();
        assert_eq!(header(&p, "authorization").unwrap(), "Basic dTpw");
    }

    #[test]
    fn base_url_interpolation_follows_nango() {
        let zendesk = "https://${connectionConfig.subdomain}.zendesk.com";
        assert_eq!(
            base_url(zendesk, &cfg(&[("subdomain", "acme")]))
                .unwrap()
                .as_str(),
            "https://acme.zendesk.com/"
        );
        assert_eq!(
            base_url(zendesk, &cfg(&[])),
            Err(PlanError::MissingConfig(vec!["subdomain".into()]))
        );
        // A value cannot add a path, a port or credentials to the host.
        assert!(base_url(zendesk, &cfg(&[("subdomain", "evil.com/#")])).is_err());
        assert!(base_url(zendesk, &cfg(&[("subdomain", "evil.com:1@x")])).is_err());
        let intercom =
            "https://api.${connectionConfig.region}.intercom.io || https://api.intercom.io";
        assert_eq!(
            base_url(intercom, &cfg(&[])).unwrap().as_str(),
            "https://api.intercom.io/"
        );
        assert_eq!(
            base_url(intercom, &cfg(&[("region", "eu")]))
                .unwrap()
                .as_str(),
            "https://api.eu.intercom.io/"
        );
        let salesforce = "${connectionConfig.instance_url}";
        assert_eq!(
            base_url(
                salesforce,
                &cfg(&[("instance_url", "https://acme.my.salesforce.com/")])
            )
            .unwrap()
            .as_str(),
            "https://acme.my.salesforce.com/"
        );
        assert_eq!(
            base_url(salesforce, &cfg(&[("instance_url", "file:///etc/passwd")])),
            Err(PlanError::BadBaseUrl)
        );
        let pipedrive = "${connectionConfig.api_domain}/api";
        assert_eq!(
            base_url(
                pipedrive,
                &cfg(&[("api_domain", "https://acme.pipedrive.com")])
            )
            .unwrap()
            .as_str(),
            "https://acme.pipedrive.com/api"
        );
    }

    #[test]
    fn override_and_caller_headers_win() {
        let s = spec(
            json!({"base_url": "https://api.example.com", "headers": {"x-api-key": "${apiKey}", "accept": "application/json"}}),
        );
        let mut o = opts();
        o.base_url_override = Some(url::Url::parse("http://127.0.0.1:9/base/").unwrap());
        o.forwarded = vec![
            (
                HeaderName::from_static("accept"),
                HeaderValue::from_static("text/csv"),
            ),
            (
                HeaderName::from_static("x-trace"),
                HeaderValue::from_static("1"),
            ),
            (
                HeaderName::from_static("host"),
                HeaderValue::from_static("evil"),
            ),
        ];
        let ct = HeaderValue::from_static("application/json");
        let p = build(&s, &o, "/items", None, Some(&ct), &api_key("sk"), &cfg(&[])).unwrap();
        assert_eq!(p.url.as_str(), "http://127.0.0.1:9/base/items");
        assert_eq!(header(&p, "accept").unwrap(), "text/csv");
        assert_eq!(header(&p, "x-trace").unwrap(), "1");
        assert_eq!(header(&p, "x-api-key").unwrap(), "sk");
        assert_eq!(header(&p, "content-type").unwrap(), "application/json");
        assert_eq!(header(&p, "host"), None);
    }

    #[test]
    fn signed_schemes_are_refused_and_a_missing_base_is_named() {
        let s =
            spec(json!({"base_url": "https://x.example.com", "headers": {"x-date": "${now:X}"}}));
        assert!(matches!(
            build(&s, &opts(), "", None, None, &api_key("k"), &cfg(&[])),
            Err(PlanError::Unsupported(_))
        ));
        assert_eq!(
            build(
                &ProxySpec::default(),
                &opts(),
                "",
                None,
                None,
                &api_key("k"),
                &cfg(&[])
            )
            .unwrap_err(),
            PlanError::NoBaseUrl
        );
    }
}
