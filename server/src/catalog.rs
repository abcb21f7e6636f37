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
    /// `form` (default) or `json`: how the token request body is encoded.
    #[serde(default)]
    pub body_format: Option<String>,
    /// Fields of the token response (dot paths allowed) copied into `connection_config`.
    #[serde(default)]
    pub token_response_metadata: Vec<String>,
    /// Callback query parameters copied into `connection_config` (e.g. QuickBooks `realmId`).
    #[serde(default)]
    pub redirect_uri_metadata: Vec<String>,
    /// Latchkey extension: the provider's RFC 8414 issuer identifier. When set, the callback must carry
    /// an `iss` equal to it (RFC 9207); when absent, an `iss` the provider sends must have the origin of
    /// the authorization URL.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The connection-config field schemas (only what the engine enforces is typed).
    #[serde(default)]
    pub connection_config: BTreeMap<String, FieldSchema>,
}

/// The part of a `connection_config` field schema the engine enforces.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FieldSchema {
    /// A regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<String>,
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

/// Why a provider URL could not be built from a connection config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error(transparent)]
    Missing(#[from] MissingParams),
    /// A value does not match its field's `pattern`, or a field that names a host has no pattern.
    #[error("connection config param '{0}' is not a valid value for this provider")]
    Invalid(String),
}

/// Fills `${connectionConfig.x}` placeholders from `config`. A template may list alternatives
/// separated by `||` (Salesforce: custom hostname, else the login host): the first alternative whose
/// placeholders are all present wins. Values are percent-encoded, so a value cannot change the URL's
/// structure (no `/`, `?`, `#` or `@` injection).
pub fn interpolate(
    template: &str,
    config: &BTreeMap<String, String>,
) -> Result<String, MissingParams> {
    first_alternative(template, config, true).map(|(url, _)| url)
}

/// [`interpolate`] for a URL that receives credentials (authorization and token URLs): every value
/// used must fully match its field's `pattern` from the catalog, and a placeholder in the URL's host
/// is refused unless its field has one — otherwise a connection config could send the client secret
/// and the authorization code to a host of the caller's choosing (Salesforce's `hostname`).
pub fn interpolate_url(
    template: &str,
    config: &BTreeMap<String, String>,
    fields: &BTreeMap<String, FieldSchema>,
) -> Result<String, UrlError> {
    let (url, alternative) = first_alternative(template, config, true)?;
    let host_end = alternative
        .find("://")
        .map(|i| {
            i + 3
                + alternative[i + 3..]
                    .find('/')
                    .unwrap_or(alternative.len() - i - 3)
        })
        .unwrap_or(0);
    for (key, at) in placeholders(alternative) {
        let value = config.get(&key).map(String::as_str).unwrap_or_default();
        let pattern = fields.get(&key).and_then(|f| f.pattern.as_deref());
        match pattern {
            Some(p) => {
                let full = format!("^(?:{p})$");
                let ok = regex::Regex::new(&full)
                    .map(|re| re.is_match(value))
                    .unwrap_or(false);
                if !ok {
                    return Err(UrlError::Invalid(key));
                }
            }
            None if at < host_end => return Err(UrlError::Invalid(key)),
            None => {}
        }
    }
    Ok(url)
}

/// Fills placeholders in a parameter value (authorization, token and refresh params): the same rules
/// as [`interpolate`] but without percent-encoding (the form or JSON encoder does that).
pub fn interpolate_param(
    template: &str,
    config: &BTreeMap<String, String>,
) -> Result<String, MissingParams> {
    first_alternative(template, config, false).map(|(v, _)| v)
}

/// Interpolates every value of a parameter map.
pub fn interpolate_params(
    params: &BTreeMap<String, serde_json::Value>,
    config: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, MissingParams> {
    params
        .iter()
        .map(|(k, v)| Ok((k.clone(), interpolate_param(&param_string(v), config)?)))
        .collect()
}

fn first_alternative<'t>(
    template: &'t str,
    config: &BTreeMap<String, String>,
    encode: bool,
) -> Result<(String, &'t str), MissingParams> {
    let mut first_missing = None;
    for alternative in template.split("||").map(str::trim) {
        match fill(alternative, config, encode) {
            Ok(s) => return Ok((s, alternative)),
            Err(missing) => {
                first_missing.get_or_insert(missing);
            }
        }
    }
    Err(first_missing.unwrap_or_else(|| MissingParams(Vec::new())))
}

/// The config keys of a template's placeholders, with their byte offsets.
fn placeholders(template: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(start) = template[offset..].find("${") {
        let at = offset + start;
        let Some(end) = template[at..].find('}') else {
            break;
        };
        let name = &template[at + 2..at + end];
        out.push((
            name.strip_prefix("connectionConfig.")
                .unwrap_or(name)
                .to_string(),
            at,
        ));
        offset = at + end + 1;
    }
    out
}

fn fill(
    template: &str,
    config: &BTreeMap<String, String>,
    encode: bool,
) -> Result<String, MissingParams> {
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
            Some(v) if encode => out.extend(utf8_percent_encode(v, URL_VALUE)),
            Some(v) => out.push_str(v),
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

    fn fields(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, FieldSchema> {
        pairs
            .iter()
            .map(|(k, p)| {
                (
                    k.to_string(),
                    FieldSchema {
                        pattern: p.map(String::from),
                    },
                )
            })
            .collect()
    }

    const SALESFORCE_TOKEN: &str = "https://${connectionConfig.hostname}/services/oauth2/token || https://login.salesforce.com/services/oauth2/token";
    const HOSTNAME: &str = r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$";

    #[test]
    fn a_host_from_the_connection_config_must_match_its_pattern() {
        let f = fields(&[("hostname", Some(HOSTNAME))]);
        assert_eq!(
            interpolate_url(
                SALESFORCE_TOKEN,
                &cfg(&[("hostname", "acme.my.salesforce.com")]),
                &f
            )
            .unwrap(),
            "https://acme.my.salesforce.com/services/oauth2/token"
        );
        assert_eq!(
            interpolate_url(SALESFORCE_TOKEN, &cfg(&[]), &f).unwrap(),
            "https://login.salesforce.com/services/oauth2/token"
        );
        for evil in [
            "evil.com:8443",
            "evil.com/x",
            "user@evil.com",
            "-x.com",
            "localhost",
        ] {
            assert_eq!(
                interpolate_url(SALESFORCE_TOKEN, &cfg(&[("hostname", evil)]), &f),
                Err(UrlError::Invalid("hostname".into())),
                "{evil}"
            );
        }
    }

    #[test]
    fn a_host_placeholder_without_a_pattern_is_refused_but_a_path_one_is_not() {
        let none = fields(&[]);
        assert_eq!(
            interpolate_url(
                SALESFORCE_TOKEN,
                &cfg(&[("hostname", "attacker.example")]),
                &none
            ),
            Err(UrlError::Invalid("hostname".into()))
        );
        let t = "https://login.microsoftonline.com/${connectionConfig.tenant}/oauth2/v2.0/token";
        assert_eq!(
            interpolate_url(t, &cfg(&[("tenant", "a/b")]), &none).unwrap(),
            "https://login.microsoftonline.com/a%2Fb/oauth2/v2.0/token"
        );
    }

    #[test]
    fn params_are_interpolated_without_url_encoding() {
        let mut params = BTreeMap::new();
        params.insert(
            "audience".to_string(),
            serde_json::json!("${connectionConfig.audience}"),
        );
        params.insert("n".to_string(), serde_json::json!(3));
        let out = interpolate_params(&params, &cfg(&[("audience", "https://api.x/ v")])).unwrap();
        assert_eq!(out["audience"], "https://api.x/ v");
        assert_eq!(out["n"], "3");
        assert_eq!(
            interpolate_params(&params, &cfg(&[])).unwrap_err().0,
            vec!["audience".to_string()]
        );
        assert_eq!(interpolate_param("${a} || b", &cfg(&[])).unwrap(), "b");
    }

    #[test]
    fn every_shipped_oauth_url_with_a_host_placeholder_has_a_pattern() {
        let c = Catalog::load(None).unwrap();
        let mut unguarded = Vec::new();
        for (name, e) in c.iter() {
            let p = e.provider.as_ref().unwrap();
            let urls = [
                p.authorization_url.clone(),
                p.token_url
                    .as_ref()
                    .and_then(|u| u.for_mode(p.auth_mode.as_str()))
                    .map(String::from),
                p.refresh_url.clone(),
            ];
            for url in urls.into_iter().flatten() {
                for alternative in url.split("||").map(str::trim) {
                    let host_end = alternative.find("://").map(|i| {
                        i + 3
                            + alternative[i + 3..]
                                .find('/')
                                .unwrap_or(alternative.len() - i - 3)
                    });
                    for (key, at) in placeholders(alternative) {
                        let guarded = p
                            .connection_config
                            .get(&key)
                            .and_then(|f| f.pattern.as_ref());
                        if host_end.is_some_and(|end| at < end) && guarded.is_none() {
                            unguarded.push(format!("{name}: {key}"));
                        }
                    }
                }
            }
        }
        // A field without a `pattern` would have its flows refused with `url_param_err` (safe, but
        // useless): every shipped one has a pattern now.
        unguarded.dedup();
        assert!(
            unguarded.is_empty(),
            "host placeholders without a pattern: {unguarded:?}"
        );
    }

    #[test]
    fn shipped_host_patterns_accept_real_values_and_refuse_others() {
        let c = Catalog::load(None).unwrap();
        let check = |provider: &str, key: &str, value: &str| {
            let p = c.get(provider).unwrap().provider.clone().unwrap();
            let url = p
                .token_url
                .as_ref()
                .and_then(|u| u.for_mode(p.auth_mode.as_str()))
                .unwrap()
                .to_string();
            interpolate_url(&url, &cfg(&[(key, value)]), &p.connection_config)
        };
        for ok in ["com", "eu", "com.au", "jp"] {
            let url = check("zoho-crm", "extension", ok).unwrap();
            assert_eq!(url, format!("https://accounts.zoho.{ok}/oauth/v2/token"));
        }
        for bad in ["evil.example", "com/x", "com.evil", "attacker.com#"] {
            assert!(check("zoho", "extension", bad).is_err(), "{bad}");
        }
        assert_eq!(
            check("auth0-cc", "hostname", "acme.us.auth0.com").unwrap(),
            "https://acme.us.auth0.com/oauth/token"
        );
        for bad in [
            "acme.auth0.com/x",
            "user@evil.example",
            "localhost",
            "a.b:8080",
        ] {
            assert!(check("auth0-cc", "hostname", bad).is_err(), "{bad}");
        }
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
