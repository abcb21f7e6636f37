//! Reading the API's answers and the parent's messages, and writing our events, field by field over
//! JS objects (`JSON.parse` / `postMessage` structured clones) instead of serde. The messages the
//! Connect UI shares with the SDK (events, the parent's messages, credential answers, the error
//! envelope) are [`latchkey_protocol::codec`]'s; this module reads the API's larger answers.
//!
//! Why: serde_json costs ~30 KB gzip of wasm here (a JSON lexer inlined per struct, float formatting
//! for its error messages), a quarter of the Connect UI's size budget. The SDK made the same choice
//! (`latchkey_sdk::logic::wire`). The shapes are still the protocol's own types: the decoders build
//! `latchkey_protocol` values, and the native tests below feed them what `serde_json` makes of those
//! types, so a field renamed in `protocol/` fails here.

use js_sys::{Array, Object, Reflect};
pub use latchkey_protocol::codec::{ReadFields, WriteFields};
use latchkey_protocol::connect::{ConnectUiSettings, ConnectUiTheme, ThemeColors};
use latchkey_protocol::integrations::{ApiPublicIntegration, AuthMode};
use wasm_bindgen::{JsCast, JsValue};

use crate::form::{FieldSchema, Format};
use crate::model::{ProviderSummary, SessionSettings};

/// Read access to one JSON object: the protocol codec's fields, plus what the API's larger answers
/// need (lists, numbers, maps).
pub trait Fields: ReadFields {
    /// The elements of an array field.
    fn list(&self, name: &str) -> Option<Vec<Self>>;
    /// This value itself as a string (array elements).
    fn as_text(&self) -> Option<String>;
    fn number(&self, name: &str) -> Option<f64>;
    /// The members of an object field, in document order.
    fn entries(&self, name: &str) -> Vec<(String, Self)>;
    /// This value as text when it is a string, number or boolean (numbers as JSON writes them).
    fn as_scalar(&self) -> Option<String>;
    /// Any field, as is.
    fn field(&self, name: &str) -> Option<Self>;
    /// A string, number or boolean field as text.
    fn scalar(&self, name: &str) -> Option<String> {
        self.field(name)?.as_scalar()
    }
}

/// A JS value seen as a JSON object.
pub struct JsObject(pub JsValue);

impl JsObject {
    fn get(&self, name: &str) -> Option<JsValue> {
        if !self.0.is_object() {
            return None;
        }
        Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }
}

impl ReadFields for JsObject {
    fn string(&self, name: &str) -> Option<String> {
        self.get(name)?.as_string()
    }
    fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name)?.as_bool()
    }
    fn object(&self, name: &str) -> Option<Self> {
        self.get(name).filter(JsValue::is_object).map(JsObject)
    }
}

impl Fields for JsObject {
    fn list(&self, name: &str) -> Option<Vec<Self>> {
        let value = self.get(name).filter(Array::is_array)?;
        Some(Array::from(&value).iter().map(JsObject).collect())
    }
    fn as_text(&self) -> Option<String> {
        self.0.as_string()
    }
    fn number(&self, name: &str) -> Option<f64> {
        self.get(name)?.as_f64()
    }
    fn entries(&self, name: &str) -> Vec<(String, Self)> {
        let Some(object) = self.object(name) else {
            return Vec::new();
        };
        Object::entries(object.0.unchecked_ref())
            .iter()
            .filter_map(|pair| {
                let pair = Array::from(&pair);
                Some((pair.get(0).as_string()?, JsObject(pair.get(1))))
            })
            .collect()
    }
    fn field(&self, name: &str) -> Option<Self> {
        self.get(name).map(JsObject)
    }
    fn as_scalar(&self) -> Option<String> {
        if let Some(text) = self.0.as_string() {
            return Some(text);
        }
        if self.0.as_f64().is_some() || self.0.as_bool().is_some() {
            return js_sys::JSON::stringify(&self.0).ok().map(String::from);
        }
        None
    }
}

impl WriteFields for JsObject {
    fn empty() -> Self {
        JsObject(Object::new().into())
    }
    fn set_string(&mut self, name: &str, value: &str) {
        let _ = Reflect::set(&self.0, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    fn set_bool(&mut self, name: &str, value: bool) {
        let _ = Reflect::set(
            &self.0,
            &JsValue::from_str(name),
            &JsValue::from_bool(value),
        );
    }
    fn set_object(&mut self, name: &str, value: Self) {
        let _ = Reflect::set(&self.0, &JsValue::from_str(name), &value.0);
    }
}

/// `data` of `GET /connect/session` (the fields the Connect UI uses).
pub fn read_session_settings(m: &impl Fields) -> Option<SessionSettings> {
    let settings = m.object("connectUISettings")?;
    let theme = settings.object("theme")?;
    let primary = |mode: &str| -> Option<ThemeColors> {
        Some(ThemeColors {
            primary: theme.object(mode)?.string("primary")?,
        })
    };
    Some(SessionSettings {
        connect_ui_settings: ConnectUiSettings {
            theme: ConnectUiTheme {
                light: primary("light")?,
                dark: primary("dark")?,
            },
            default_theme: settings
                .string("defaultTheme")
                .unwrap_or_else(|| "system".into()),
            show_watermark: settings.boolean("showWatermark").unwrap_or_default(),
        },
        allowed_integrations: m
            .list("allowed_integrations")
            .map(|keys| keys.iter().filter_map(Fields::as_text).collect()),
        websockets_path: m.string("websocketsPath"),
        presets: m
            .entries("integrations_config_defaults")
            .into_iter()
            .map(|(key, defaults)| {
                let values = defaults
                    .entries("connection_config")
                    .into_iter()
                    .filter_map(|(name, v)| Some((name, v.as_scalar()?)))
                    .collect();
                (key, values)
            })
            .collect(),
    })
}

/// One element of `GET /integrations`'s `data`.
pub fn read_integration(m: &impl Fields) -> Option<ApiPublicIntegration> {
    Some(ApiPublicIntegration {
        unique_key: m.string("unique_key")?,
        provider: m.string("provider")?,
        display_name: m.string("display_name")?,
        logo: m.string("logo").unwrap_or_default(),
        forward_webhooks: m.boolean("forward_webhooks").unwrap_or_default(),
        created_at: m.string("created_at").unwrap_or_default(),
        updated_at: m.string("updated_at").unwrap_or_default(),
    })
}

/// `data` of `GET /providers/:provider`.
pub fn read_provider(m: &impl Fields) -> Option<ProviderSummary> {
    Some(ProviderSummary {
        display_name: m.string("display_name")?,
        auth_mode: auth_mode(&m.string("auth_mode")?),
        docs: m.string("docs"),
        docs_connect: m.string("docs_connect"),
        credentials: field_schemas(m, "credentials"),
        connection_config: field_schemas(m, "connection_config"),
        assertion_option: field_schemas(m, "assertion_option"),
    })
}

/// The entries of a provider's `credentials` or `connection_config`.
fn field_schemas<F: Fields>(m: &F, name: &str) -> Vec<FieldSchema> {
    m.entries(name)
        .into_iter()
        .map(|(name, f)| FieldSchema {
            title: f.string("title"),
            description: f.string("description"),
            example: f.scalar("example"),
            pattern: f.string("pattern"),
            format: f.string("format").as_deref().and_then(Format::parse),
            options: f
                .list("enum")
                .unwrap_or_default()
                .iter()
                .filter_map(Fields::as_scalar)
                .collect(),
            optional: f.boolean("optional").unwrap_or_default(),
            secret: f.boolean("secret").unwrap_or_default(),
            prefix: f.string("prefix"),
            suffix: f.string("suffix"),
            default_value: f.scalar("default_value"),
            hidden: f.boolean("hidden").unwrap_or_default(),
            automated: f.boolean("automated").unwrap_or_default(),
            order: f.number("order"),
            doc_section: f.string("doc_section"),
            name,
        })
        .collect()
}

/// The catalog's `auth_mode` string as the protocol's enum.
pub fn auth_mode(value: &str) -> AuthMode {
    match value {
        "OAUTH2" => AuthMode::Oauth2,
        "OAUTH2_CC" => AuthMode::Oauth2Cc,
        "API_KEY" => AuthMode::ApiKey,
        "BASIC" => AuthMode::Basic,
        "NONE" => AuthMode::None,
        "TWO_STEP" => AuthMode::TwoStep,
        "JWT" => AuthMode::Jwt,
        "BILL" => AuthMode::Bill,
        "SIGNATURE" => AuthMode::Signature,
        "TBA" => AuthMode::Tba,
        "MCP_OAUTH2" => AuthMode::McpOauth2,
        "MCP_OAUTH2_GENERIC" => AuthMode::McpOauth2Generic,
        "OAUTH1" => AuthMode::Oauth1,
        "AWS_SIGV4" => AuthMode::AwsSigV4,
        "INSTALL_PLUGIN" => AuthMode::InstallPlugin,
        "APP" => AuthMode::App,
        "CUSTOM" => AuthMode::Custom,
        other => AuthMode::Other(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_protocol::connect::{ConnectSessionInfo, SessionEndUser};
    use latchkey_protocol::DataEnvelope;
    use serde_json::{json, Value};

    impl Fields for Value {
        fn list(&self, name: &str) -> Option<Vec<Self>> {
            self.get(name)?.as_array().cloned()
        }
        fn as_text(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
        fn number(&self, name: &str) -> Option<f64> {
            self.get(name)?.as_f64()
        }
        fn entries(&self, name: &str) -> Vec<(String, Self)> {
            self.get(name)
                .and_then(Value::as_object)
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        }
        fn as_scalar(&self) -> Option<String> {
            match self {
                Value::String(s) => Some(s.clone()),
                Value::Number(_) | Value::Bool(_) => Some(self.to_string()),
                _ => None,
            }
        }
        fn field(&self, name: &str) -> Option<Self> {
            self.get(name).filter(|v| !v.is_null()).cloned()
        }
    }

    #[test]
    fn session_settings_are_read_from_the_protocol_shape() {
        let mut settings = ConnectUiSettings::default();
        settings.theme.dark.primary = "#123456".into();
        settings.default_theme = "dark".into();
        let info = ConnectSessionInfo {
            end_user: Some(SessionEndUser {
                id: "u1".into(),
                display_name: None,
                email: None,
                tags: None,
                organization: None,
            }),
            connect_ui_settings: settings.clone(),
            allowed_integrations: Some(vec!["github".into()]),
            integrations_config_defaults: None,
            is_reconnecting: Some(true),
            websockets_path: Some("/ws".into()),
        };
        let read = read_session_settings(&serde_json::to_value(&info).unwrap()).unwrap();
        assert_eq!(read.connect_ui_settings, settings);
        assert_eq!(read.allowed_integrations, Some(vec!["github".to_owned()]));
        assert_eq!(read.websockets_path.as_deref(), Some("/ws"));

        let minimal = ConnectSessionInfo {
            allowed_integrations: None,
            websockets_path: None,
            ..info
        };
        let read = read_session_settings(&serde_json::to_value(&minimal).unwrap()).unwrap();
        assert_eq!(
            (read.allowed_integrations, read.websockets_path),
            (None, None)
        );
    }

    #[test]
    fn integrations_are_read_from_the_protocol_shape() {
        let integration = ApiPublicIntegration {
            unique_key: "github-dev".into(),
            provider: "github".into(),
            display_name: "GitHub".into(),
            logo: "http://localhost:3003/images/template-logos/github.svg".into(),
            forward_webhooks: true,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-02T00:00:00.000Z".into(),
        };
        let body = serde_json::to_value(DataEnvelope::new(vec![integration.clone()])).unwrap();
        let read: Vec<_> = body
            .list("data")
            .unwrap()
            .iter()
            .filter_map(read_integration)
            .collect();
        assert_eq!(read, vec![integration]);
    }

    #[test]
    fn auth_modes_match_the_protocol_names() {
        for mode in [
            AuthMode::Oauth2,
            AuthMode::Oauth2Cc,
            AuthMode::ApiKey,
            AuthMode::Basic,
            AuthMode::None,
            AuthMode::McpOauth2,
            AuthMode::McpOauth2Generic,
            AuthMode::Oauth1,
            AuthMode::TwoStep,
            AuthMode::Jwt,
            AuthMode::Bill,
            AuthMode::Signature,
            AuthMode::Tba,
            AuthMode::AwsSigV4,
            AuthMode::InstallPlugin,
            AuthMode::App,
            AuthMode::Custom,
        ] {
            let name = serde_json::to_value(&mode).unwrap();
            assert_eq!(auth_mode(name.as_str().unwrap()), mode);
        }
        assert_eq!(auth_mode("NEW_MODE"), AuthMode::Other("NEW_MODE".into()));
        let provider =
            read_provider(&json!({"display_name": "GitHub", "auth_mode": "OAUTH2", "proxy": {}}))
                .unwrap();
        assert_eq!(
            (provider.display_name.as_str(), provider.auth_mode),
            ("GitHub", AuthMode::Oauth2)
        );
    }

    #[test]
    fn provider_fields_and_session_presets_are_read() {
        let provider = json!({
            "display_name": "Zendesk", "auth_mode": "OAUTH2",
            "connection_config": {
                "subdomain": {"type": "string", "title": "Zendesk Subdomain", "example": "acme",
                    "pattern": "^[a-z0-9_-]+$", "prefix": "https://", "suffix": ".zendesk.com", "order": 1},
                "region": {"type": "string", "enum": ["us", "eu"], "optional": true, "format": "hostname",
                    "default_value": 3, "hidden": true, "automated": false, "doc_section": "#region"}
            },
            "credentials": {"apiKey": {"type": "string", "secret": true}},
            "assertion_option": {"privateKey": {"type": "string", "title": "Private Key"}}
        });
        let read = read_provider(&provider).unwrap();
        assert_eq!(
            read.assertion_option[0].title.as_deref(),
            Some("Private Key")
        );
        let named = |n: &str| read.connection_config.iter().find(|f| f.name == n).unwrap();
        let subdomain = named("subdomain");
        assert_eq!(subdomain.title.as_deref(), Some("Zendesk Subdomain"));
        assert_eq!(subdomain.example.as_deref(), Some("acme"));
        assert_eq!(subdomain.pattern.as_deref(), Some("^[a-z0-9_-]+$"));
        assert_eq!(
            (subdomain.prefix.as_deref(), subdomain.suffix.as_deref()),
            (Some("https://"), Some(".zendesk.com"))
        );
        assert_eq!(subdomain.order, Some(1.0));
        let region = named("region");
        assert_eq!(region.options, ["us", "eu"]);
        assert!(region.optional && region.hidden && !region.automated);
        assert_eq!(region.format, Some(Format::Hostname));
        assert_eq!(region.default_value.as_deref(), Some("3"));
        assert_eq!(region.doc_section.as_deref(), Some("#region"));
        assert!(read.credentials[0].secret);

        let mut defaults = std::collections::BTreeMap::new();
        defaults.insert(
            "zendesk".to_owned(),
            latchkey_protocol::connect::IntegrationConfigDefaults {
                connection_config: Some(
                    [
                        ("subdomain".to_owned(), json!("acme")),
                        ("port".to_owned(), json!(8443)),
                    ]
                    .into(),
                ),
                ..Default::default()
            },
        );
        let info = json!({
            "connectUISettings": serde_json::to_value(ConnectUiSettings::default()).unwrap(),
            "integrations_config_defaults": serde_json::to_value(defaults).unwrap(),
        });
        let settings = read_session_settings(&info).unwrap();
        let mut presets = settings.presets_for("zendesk").to_vec();
        presets.sort();
        assert_eq!(
            presets,
            [
                ("port".to_owned(), "8443".to_owned()),
                ("subdomain".to_owned(), "acme".to_owned())
            ]
        );
        assert!(settings.presets_for("github").is_empty());
    }
}
