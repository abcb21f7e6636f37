//! The provider catalog: Nango's `providers.yaml` schema (reference §6), shipped with the server and
//! optionally merged with a user-supplied file (`LATCHKEY_PROVIDERS_FILE`).
//!
//! Entries are kept twice: as the raw JSON value (what `GET /providers/:provider` returns, so fields
//! we do not use still reach the Connect UI) and as a typed [`Provider`] for the fields the engine
//! uses. Unknown fields are ignored; `alias` entries are shallow-merged over their target at load.

use latchkey_protocol::integrations::AuthMode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

const SHIPPED: &str = include_str!("../providers.yaml");

/// A string, or Nango's per-auth-mode map (`token_url: {OAUTH2: …}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UrlByMode {
    One(String),
    ByMode(BTreeMap<String, String>),
}

impl UrlByMode {
    pub fn for_mode(&self, mode: &str) -> Option<&str> {
        match self {
            Self::One(s) => Some(s),
            Self::ByMode(m) => m.get(mode).map(String::as_str),
        }
    }
}

/// The typed subset of a catalog entry the engine uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Provider {
    pub display_name: String,
    pub auth_mode: AuthMode,
    #[serde(default)]
    pub authorization_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<UrlByMode>,
    #[serde(default)]
    pub authorization_params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub token_params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub refresh_url: Option<String>,
    #[serde(default)]
    pub refresh_params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub scope_separator: Option<String>,
    #[serde(default)]
    pub default_scopes: Vec<String>,
    #[serde(default)]
    pub disable_pkce: bool,
    /// `body` (default) or `header`: how the client authenticates at the token endpoint.
    #[serde(default)]
    pub authorization_method: Option<String>,
    #[serde(default)]
    pub token_request_auth_method: Option<String>,
    #[serde(default)]
    pub docs: Option<String>,
}

/// One catalog entry: the raw value (returned by the API) and its typed view.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub raw: serde_json::Value,
    pub provider: Option<Provider>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: BTreeMap<String, CatalogEntry>,
}

impl Catalog {
    /// The shipped catalog, with `extra_file` merged over it (an entry of the same name replaces ours).
    pub fn load(extra_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut raw =
            parse_yaml(SHIPPED).map_err(|e| anyhow::anyhow!("shipped providers.yaml: {e}"))?;
        if let Some(path) = extra_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read providers file {}: {e}", path.display())
            })?;
            let extra = parse_yaml(&text)
                .map_err(|e| anyhow::anyhow!("providers file {}: {e}", path.display()))?;
            raw.extend(extra);
        }
        Ok(Self::from_raw(raw))
    }

    fn from_raw(raw: BTreeMap<String, serde_json::Value>) -> Self {
        let entries = raw
            .iter()
            .map(|(name, value)| {
                let value = resolve_alias(&raw, value);
                let provider = serde_json::from_value::<Provider>(value.clone()).ok();
                (
                    name.clone(),
                    CatalogEntry {
                        raw: value,
                        provider,
                    },
                )
            })
            .collect();
        Self { entries }
    }

    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &CatalogEntry)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn parse_yaml(text: &str) -> Result<BTreeMap<String, serde_json::Value>, serde_yaml_ng::Error> {
    serde_yaml_ng::from_str(text)
}

/// `alias: other` entries inherit `other`'s fields; their own fields win (shallow merge, as Nango).
fn resolve_alias(
    all: &BTreeMap<String, serde_json::Value>,
    value: &serde_json::Value,
) -> serde_json::Value {
    let Some(target) = value
        .get("alias")
        .and_then(|a| a.as_str())
        .and_then(|a| all.get(a))
    else {
        return value.clone();
    };
    let mut merged = target.as_object().cloned().unwrap_or_default();
    if let Some(own) = value.as_object() {
        for (k, v) in own {
            merged.insert(k.clone(), v.clone());
        }
    }
    serde_json::Value::Object(merged)
}

/// Characters left as they are when a connection-config value is put into a URL: RFC 3986 unreserved.
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A `${connectionConfig.x}` placeholder had no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing connection config param(s): {}", .0.join(", "))]
pub struct MissingParams(pub Vec<String>);

/// Fills `${connectionConfig.x}` placeholders from `config`. A template may list alternatives
/// separated by `||` (Salesforce: custom hostname, else the login host): the first alternative whose
/// placeholders are all present wins. Values are percent-encoded, so a value cannot change the URL's
/// structure (no `/`, `?`, `#` or `@` injection).
pub fn interpolate(
    template: &str,
    config: &BTreeMap<String, String>,
) -> Result<String, MissingParams> {
    let mut first_missing = None;
    for alternative in template.split("||").map(str::trim) {
        match fill(alternative, config) {
            Ok(s) => return Ok(s),
            Err(missing) => {
                first_missing.get_or_insert(missing);
            }
        }
    }
    Err(first_missing.unwrap_or_else(|| MissingParams(Vec::new())))
}

fn fill(template: &str, config: &BTreeMap<String, String>) -> Result<String, MissingParams> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut missing = Vec::new();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &rest[start + 2..start + end];
        let key = name.strip_prefix("connectionConfig.").unwrap_or(name);
        match config.get(key).filter(|v| !v.is_empty()) {
            Some(v) => out.extend(utf8_percent_encode(v, URL_VALUE)),
            None => missing.push(key.to_string()),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(MissingParams(missing))
    }
}

/// Catalog parameter values may be YAML scalars of any type; the wire wants strings.
pub fn param_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn subdomain_is_interpolated() {
        let url = interpolate(
            "https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens",
            &cfg(&[("subdomain", "acme")]),
        );
        assert_eq!(url.unwrap(), "https://acme.zendesk.com/oauth/tokens");
    }

    #[test]
    fn fallback_alternative_is_used_when_param_missing() {
        let t = "https://${connectionConfig.hostname}/services/oauth2/token || https://login.salesforce.com/services/oauth2/token";
        assert_eq!(
            interpolate(t, &cfg(&[])).unwrap(),
            "https://login.salesforce.com/services/oauth2/token"
        );
        assert_eq!(
            interpolate(t, &cfg(&[("hostname", "acme.my.salesforce.com")])).unwrap(),
            "https://acme.my.salesforce.com/services/oauth2/token"
        );
    }

    #[test]
    fn missing_param_is_named() {
        let err = interpolate(
            "https://${connectionConfig.subdomain}.zendesk.com",
            &cfg(&[]),
        )
        .unwrap_err();
        assert_eq!(err.0, vec!["subdomain".to_string()]);
    }

    #[test]
    fn values_cannot_inject_url_structure() {
        let url = interpolate(
            "https://${connectionConfig.subdomain}.zendesk.com/x",
            &cfg(&[("subdomain", "evil.com/#")]),
        )
        .unwrap();
        assert_eq!(url, "https://evil.com%2F%23.zendesk.com/x");
    }

    #[test]
    fn alias_inherits_target_fields() {
        let raw = parse_yaml(
            "google:\n    display_name: Google\n    auth_mode: OAUTH2\n    authorization_url: https://a\n    token_url: https://t\ngmail:\n    alias: google\n    display_name: Gmail\n",
        )
        .unwrap();
        let c = Catalog::from_raw(raw);
        let gmail = c.get("gmail").unwrap().provider.as_ref().unwrap();
        assert_eq!(gmail.display_name, "Gmail");
        assert_eq!(gmail.authorization_url.as_deref(), Some("https://a"));
    }

    #[test]
    fn every_shipped_entry_parses_for_the_engine() {
        let c = Catalog::load(None).unwrap();
        assert!(c.len() >= 50, "shipped catalog has {} entries", c.len());
        let broken: Vec<_> = c
            .iter()
            .filter(|(_, e)| e.provider.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        assert!(
            broken.is_empty(),
            "entries the engine cannot read: {broken:?}"
        );
        for (name, e) in c.iter() {
            let p = e.provider.as_ref().unwrap();
            if p.auth_mode == AuthMode::Oauth2 {
                assert!(
                    p.authorization_url.is_some() && p.token_url.is_some(),
                    "{name} lacks OAuth URLs"
                );
            }
        }
    }

    #[test]
    fn shipped_catalog_loads_with_local_demo_provider() {
        let c = Catalog::load(None).unwrap();
        let local = c
            .get("local-oidc")
            .and_then(|e| e.provider.as_ref())
            .expect("local-oidc entry");
        assert_eq!(local.auth_mode, AuthMode::Oauth2);
    }
}
