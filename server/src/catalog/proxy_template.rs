//! The catalog's proxy templates (`proxy.headers`, `proxy.query` values): `${apiKey}`,
//! `${accessToken}`, `${username}`, `${password}`, `${credentials.<field>}`, `${connectionConfig.<x>}`
//! and `${base64(<template>)}` (Nango's `Basic ${base64(${credentials.username}:${credentials.password})}`).
//!
//! Values are inserted verbatim: headers are checked by `HeaderValue` (no CR/LF) and query values
//! are encoded by the URL serializer. Nango's other functions (`${now:…}`, `${random}`,
//! `${awsSigV4(…)}`, `${hmacSha1Hex(…)}`, …) belong to signed auth schemes Latchkey does not
//! implement: such a template is an [`TemplateError::Unsupported`] error, never sent half-filled.

use base64::Engine as _;
use latchkey_protocol::connection::Credentials;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A placeholder has no value for this connection (e.g. a `connectionConfig` field not set).
    #[error("no value for ${{{0}}}")]
    Missing(String),
    /// A placeholder Latchkey cannot compute.
    #[error("${{{0}}} is not supported by Latchkey's proxy")]
    Unsupported(String),
}

/// The values a template may name, for one connection.
#[derive(Debug, Clone, Default)]
pub struct Values {
    map: BTreeMap<String, String>,
}

impl Values {
    /// From the connection's credentials and config.
    pub fn new(credentials: &Credentials, connection_config: &BTreeMap<String, String>) -> Self {
        let mut map = BTreeMap::new();
        for (k, v) in connection_config {
            map.insert(format!("connectionConfig.{k}"), v.clone());
        }
        // Every string field of the credentials, bare (Nango's `${apiKey}`, `${username}`) and as
        // `credentials.<field>`.
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(credentials) {
            for (k, v) in fields {
                if let serde_json::Value::String(s) = v {
                    if k != "type" {
                        map.insert(format!("credentials.{k}"), s.clone());
                        map.insert(k, s);
                    }
                }
            }
        }
        let token = match credentials {
            Credentials::OAuth2 { access_token, .. } => Some(access_token),
            Credentials::OAuth2Cc { token, .. }
            | Credentials::TwoStep { token, .. }
            | Credentials::Jwt { token, .. }
            | Credentials::Signature { token, .. } => Some(token),
            _ => None,
        };
        if let Some(t) = token {
            map.insert("accessToken".into(), t.clone());
        }
        Self { map }
    }

    /// Every named value (credential verification fills its templates from them).
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.map
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self {
            map: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// Whether `template` names the credential itself (then the provider says where the credential goes
/// and no default `Authorization` is added for API keys).
pub fn names_credential(template: &str) -> bool {
    ["${apiKey}", "${credentials.apiKey}", "${accessToken}"]
        .iter()
        .any(|p| template.contains(p))
}

/// Values Nango computes per request or from the OAuth app (signatures, nonces, client secrets):
/// not available to Latchkey's proxy, so a template naming one is refused rather than sent empty.
const COMPUTED: &[&str] = &[
    "random",
    "endpoint",
    "host",
    "path",
    "method",
    "params",
    "bodyCanonicalParams",
    "clientId",
    "clientSecret",
];

/// Fills every placeholder of `template`.
pub fn render(template: &str, values: &Values) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..];
        let end = closing_brace(inner).ok_or_else(|| TemplateError::Unsupported(inner.into()))?;
        let expr = &inner[..end];
        if let Some(arg) = expr
            .strip_prefix("base64(")
            .and_then(|a| a.strip_suffix(')'))
        {
            let plain = render(arg, values)?;
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(plain));
        } else if expr.contains(['(', ':', '$', ' ']) || COMPUTED.contains(&expr) {
            return Err(TemplateError::Unsupported(expr.into()));
        } else {
            let value = values
                .map
                .get(expr)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| TemplateError::Missing(expr.into()))?;
            out.push_str(value);
        }
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a placeholder whose `${` was just consumed (nested ones counted).
/// Shared with the credential modes' token templates (`crate::credential_modes::template`).
pub(crate) fn closing_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_config_are_filled() {
        let v = Values::new(
            &Credentials::ApiKey {
                api_key: "sk-1".into(),
            },
            &[("version".to_string(), "2024-01-01".to_string())]
                .into_iter()
                .collect(),
        );
        assert_eq!(render("Bearer ${apiKey}", &v).unwrap(), "Bearer sk-1");
        assert_eq!(render("${credentials.apiKey}", &v).unwrap(), "sk-1");
        assert_eq!(
            render("${connectionConfig.version}", &v).unwrap(),
            "2024-01-01"
        );
        assert_eq!(render("plain", &v).unwrap(), "plain");
    }

    #[test]
    fn oauth_tokens_are_the_access_token() {
        let v = Values::new(
            &Credentials::OAuth2Cc {
                token: "t".into(),
                expires_at: None,
                client_id: "id".into(),
                client_secret: "s".into(),
                raw: serde_json::Value::Null,
            },
            &BTreeMap::new(),
        );
        assert_eq!(render("${accessToken}", &v).unwrap(), "t");
    }

    #[test]
    fn base64_of_a_nested_template() {
        let v = Values::from_pairs(&[("credentials.username", "u"), ("credentials.password", "p")]);
        assert_eq!(
            render(
                "Basic ${base64(${credentials.username}:${credentials.password})}",
                &v
            )
            .unwrap(),
            "Basic dTpw"
        );
    }

    #[test]
    fn missing_values_and_signed_schemes_are_errors() {
        let v = Values::from_pairs(&[]);
        assert_eq!(
            render("${connectionConfig.x}", &v),
            Err(TemplateError::Missing("connectionConfig.x".into()))
        );
        for t in [
            "${now:YYYYMMDDTHHmmss[Z]}",
            "${random}",
            "${awsSigV4(${credentials.username})}",
        ] {
            assert!(
                matches!(render(t, &v), Err(TemplateError::Unsupported(_))),
                "{t}"
            );
        }
    }
}
