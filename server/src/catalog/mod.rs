//! The provider catalog: Nango's `providers.yaml` schema (reference §6), shipped with the server and
//! optionally merged with a user-supplied file (`LATCHKEY_PROVIDERS_FILE`).
//!
//! Entries are kept twice: as the raw JSON value (what `GET /providers/:provider` returns, so fields
//! we do not use still reach the Connect UI) and as a typed [`Provider`] for the fields the engine
//! uses. Unknown fields are ignored; `alias` entries are shallow-merged over their target at load.
//! Filling the templates of an entry (URLs, parameters) is [`template`]'s job; its proxy
//! templates (`proxy.headers`, `proxy.query`, filled per connection) are [`proxy_template`]'s.

pub mod proxy_template;
mod template;

pub use template::{
    audit_hosts, host_constrained, interpolate, interpolate_param, interpolate_params,
    interpolate_secret_url, interpolate_url, param_string, HostAudit, MissingParams, UrlError,
};

use latchkey_protocol::integrations::AuthMode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use template::placeholders;

const SHIPPED: &str = include_str!("../../providers.yaml");

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
    /// Latchkey extension: hosts (`login.example.com`, or `*.example.com` for any subdomain) a
    /// browser-supplied host placeholder may resolve to when the template and the field's pattern do
    /// not already constrain it to the provider's domains (see [`interpolate_secret_url`]).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    // ---- added for issue 15 (popup and redirect modes) ---------------------------------------------
    /// MCP: `dynamic` (RFC 7591 registration at `registration_url`), `static` or `cimd`.
    #[serde(default)]
    pub client_registration: Option<String>,
    #[serde(default)]
    pub registration_url: Option<String>,
    #[serde(default)]
    pub registration_params: BTreeMap<String, serde_json::Value>,
    /// OAuth 1.0a: the temporary-credentials (request token) endpoint.
    #[serde(default)]
    pub request_url: Option<String>,
    #[serde(default)]
    pub request_params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub request_http_method: Option<String>,
    #[serde(default)]
    pub token_http_method: Option<String>,
    /// OAuth 1.0a: `HMAC-SHA1` (default), `PLAINTEXT` or `RSA-SHA1`.
    #[serde(default)]
    pub signature_method: Option<String>,
}

impl Provider {
    /// Whether the browser may set connection-config field `key`: the provider declares it (or one of
    /// its URL or parameter templates uses it), and does not fill it itself (`automated`, e.g.
    /// Salesforce's `instance_url` from the token response).
    pub fn browser_may_set(&self, key: &str) -> bool {
        match self.connection_config.get(key) {
            Some(field) => !field.automated,
            None => self
                .templates()
                .any(|t| placeholders(t).iter().any(|(k, _)| k == key)),
        }
    }

    fn templates(&self) -> impl Iterator<Item = &str> {
        let token_urls: Vec<&str> = match &self.token_url {
            Some(UrlByMode::One(u)) => vec![u.as_str()],
            Some(UrlByMode::ByMode(m)) => m.values().map(String::as_str).collect(),
            None => Vec::new(),
        };
        self.authorization_url
            .as_deref()
            .into_iter()
            .chain(self.refresh_url.as_deref())
            .chain(token_urls)
            .chain(
                self.authorization_params
                    .values()
                    .chain(self.token_params.values())
                    .chain(self.refresh_params.values())
                    .filter_map(|v| v.as_str()),
            )
    }
}

/// The part of a `connection_config` field schema the engine enforces.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FieldSchema {
    /// A regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<Pattern>,
    /// Filled by the server from the token response (Salesforce `instance_url`): never from the browser.
    #[serde(default)]
    pub automated: bool,
}

/// A field's `pattern`, compiled once, when the catalog loads. Anchored: the whole value must match.
/// A pattern the `regex` crate cannot compile (JavaScript's look-around, as in Nango's Salesforce
/// entry) matches nothing, so its values are refused; it is logged when the catalog loads.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    compiled: Option<regex::Regex>,
}

impl Pattern {
    pub fn new(source: impl Into<String>) -> Self {
        let source = source.into();
        let compiled = regex::Regex::new(&format!("^(?:{source})$")).ok();
        Self { source, compiled }
    }

    /// The pattern as the catalog wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn compiles(&self) -> bool {
        self.compiled.is_some()
    }

    /// Whether `value` matches the whole pattern (never, when it does not compile).
    pub fn matches(&self, value: &str) -> bool {
        self.compiled.as_ref().is_some_and(|re| re.is_match(value))
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
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
        Self::from_raw(raw)
    }

    /// A catalog of the entries of one `providers.yaml` text alone (audits, tests).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Self::from_raw(parse_yaml(text)?)
    }

    /// Every entry read for the engine: an entry that does not fit the schema (a field of the wrong
    /// type, …) is refused with its name, not dropped silently to fail later as an unknown provider.
    fn from_raw(raw: BTreeMap<String, serde_json::Value>) -> anyhow::Result<Self> {
        let mut entries = BTreeMap::new();
        for (name, value) in &raw {
            let value = resolve_alias(&raw, value);
            let provider = serde_json::from_value::<Provider>(value.clone())
                .map_err(|e| anyhow::anyhow!("provider '{name}' cannot be read: {e}"))?;
            for (field, schema) in &provider.connection_config {
                if let Some(pattern) = schema.pattern.as_ref().filter(|p| !p.compiles()) {
                    tracing::warn!(provider = %name, field = %field, pattern = pattern.as_str(), "this connection_config pattern does not compile (look-around?): its values will be refused");
                }
            }
            entries.insert(
                name.clone(),
                CatalogEntry {
                    raw: value,
                    provider: Some(provider),
                },
            );
        }
        Ok(Self { entries })
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

/// `alias: other` entries inherit `other`'s fields, `other` resolved first (Nango's catalog chains
/// them: `google-calendar-mcp` → `google-calendar` → `google`); their own fields win (shallow merge,
/// as Nango). A chain longer than the catalog (a cycle) stops where it loops.
fn resolve_alias(
    all: &BTreeMap<String, serde_json::Value>,
    value: &serde_json::Value,
) -> serde_json::Value {
    resolve_alias_within(all, value, all.len())
}

fn resolve_alias_within(
    all: &BTreeMap<String, serde_json::Value>,
    value: &serde_json::Value,
    hops: usize,
) -> serde_json::Value {
    let Some(target) = value
        .get("alias")
        .and_then(|a| a.as_str())
        .and_then(|a| all.get(a))
        .filter(|_| hops > 0)
    else {
        return value.clone();
    };
    let target = resolve_alias_within(all, target, hops - 1);
    let mut merged = target.as_object().cloned().unwrap_or_default();
    if let Some(own) = value.as_object() {
        for (k, v) in own {
            merged.insert(k.clone(), v.clone());
        }
    }
    serde_json::Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_of_an_alias_inherits_the_whole_chain() {
        let raw = parse_yaml(
            "google:\n    display_name: Google\n    auth_mode: OAUTH2\n    authorization_url: https://a\n    token_url: https://t\ngoogle-calendar:\n    alias: google\n    display_name: Calendar\ncalendar-mcp:\n    alias: google-calendar\n    display_name: Calendar MCP\nloop-a:\n    alias: loop-b\n    auth_mode: API_KEY\n    display_name: A\nloop-b:\n    alias: loop-a\n    display_name: B\n",
        )
        .unwrap();
        let c = Catalog::from_raw(raw).unwrap();
        let mcp = c.get("calendar-mcp").unwrap().provider.as_ref().unwrap();
        assert_eq!(mcp.display_name, "Calendar MCP");
        assert_eq!(mcp.auth_mode, AuthMode::Oauth2);
        assert!(mcp.token_url.is_some());
        assert!(c.get("loop-b").unwrap().provider.is_some(), "a cycle ends");
    }

    #[test]
    fn an_entry_that_does_not_fit_the_schema_is_refused_by_name() {
        let raw =
            parse_yaml("broken:\n    display_name: Broken\n    auth_mode: [OAUTH2]\n").unwrap();
        let e = Catalog::from_raw(raw).unwrap_err().to_string();
        assert!(e.contains("provider 'broken' cannot be read"), "{e}");
    }

    #[test]
    fn alias_inherits_target_fields() {
        let raw = parse_yaml(
            "google:\n    display_name: Google\n    auth_mode: OAUTH2\n    authorization_url: https://a\n    token_url: https://t\ngmail:\n    alias: google\n    display_name: Gmail\n",
        )
        .unwrap();
        let c = Catalog::from_raw(raw).unwrap();
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
