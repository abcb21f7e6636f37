//! One TWO_STEP request: the token URL with its values encoded, the body and headers filled from the
//! submitted fields, the connection config and earlier steps' answers, and the answer with the
//! response headers the catalog entry keeps.

use super::coded;
use crate::connections::ModeError;
use crate::credential_modes::template::{fill_alternatives, fill_value, is_unresolved, scalar};
use crate::credential_modes::template::{strip_credentials, strip_value};
use latchkey_protocol::ErrorCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
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

/// The submitted fields, `connectionConfig`, and the previous steps' answers (`step1`, …).
pub(in crate::credential_modes) fn replacers(
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

pub(super) fn replacers_with_steps(
    dynamic: &Map<String, Value>,
    config: &BTreeMap<String, String>,
    steps: &[Value],
) -> Value {
    replacers(dynamic, config, steps)
}

/// The token URL: config and credential values percent-encoded (they cannot change the URL's
/// structure); a step's answer (a URL the provider returned, DocuWare's identity service) as is.
pub(super) fn build_url(
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
pub(super) async fn send(
    outbound: &crate::outbound::OutboundClient,
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
    let mut req = outbound
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
                let xml = crate::credential_modes::xml::to_xml(&body)
                    .map_err(|e| fetch_error(e.to_string()))?;
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
    let bytes = crate::outbound::read_capped(res, crate::outbound::TOKEN_BODY_LIMIT)
        .await
        .map_err(|e| fetch_error(e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if status.is_client_error() || status.is_server_error() {
        return Err(fetch_error(format!(
            "the provider answered {}{}",
            status.as_u16(),
            crate::credential_modes::provider_message(&text)
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
                .then(|| crate::credential_modes::xml::from_xml(&text))
                .flatten()
        })
        .unwrap_or(Value::String(text));
    Ok((answer, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

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
