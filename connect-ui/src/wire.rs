//! Reading the API's answers and the parent's messages, and writing our events, field by field over
//! JS objects (`JSON.parse` / `postMessage` structured clones) instead of serde.
//!
//! Why: serde_json costs ~30 KB gzip of wasm here (a JSON lexer inlined per struct, float formatting
//! for its error messages), a quarter of the Connect UI's size budget. The SDK made the same choice
//! (`latchkey_sdk::logic::wire`). The shapes are still the protocol's own types: the decoders build
//! `latchkey_protocol` values, and the native tests below feed them what `serde_json` makes of those
//! types, so a field renamed in `protocol/` fails here.

use js_sys::{Array, Object, Reflect};
use latchkey_protocol::connect::{ConnectUiSettings, ConnectUiTheme, ThemeColors};
use latchkey_protocol::events::{ConnectPayload, ConnectUiEvent, ParentMessage};
use latchkey_protocol::integrations::{ApiPublicIntegration, AuthMode};
use wasm_bindgen::JsValue;

use crate::api::{ProviderSummary, SessionSettings};

/// Read access to one JSON object.
pub trait Fields: Sized {
    fn string(&self, name: &str) -> Option<String>;
    fn boolean(&self, name: &str) -> Option<bool>;
    fn object(&self, name: &str) -> Option<Self>;
    /// The elements of an array field.
    fn list(&self, name: &str) -> Option<Vec<Self>>;
    /// This value itself as a string (array elements).
    fn as_text(&self) -> Option<String>;
}

/// Write access to a fresh JSON object.
pub trait Build: Sized {
    fn empty() -> Self;
    fn set_string(&mut self, name: &str, value: &str);
    fn set_bool(&mut self, name: &str, value: bool);
    fn set_object(&mut self, name: &str, value: Self);
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

impl Fields for JsObject {
    fn string(&self, name: &str) -> Option<String> {
        self.get(name)?.as_string()
    }
    fn boolean(&self, name: &str) -> Option<bool> {
        self.get(name)?.as_bool()
    }
    fn object(&self, name: &str) -> Option<Self> {
        self.get(name).filter(JsValue::is_object).map(JsObject)
    }
    fn list(&self, name: &str) -> Option<Vec<Self>> {
        let value = self.get(name).filter(Array::is_array)?;
        Some(Array::from(&value).iter().map(JsObject).collect())
    }
    fn as_text(&self) -> Option<String> {
        self.0.as_string()
    }
}

impl Build for JsObject {
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

const TYPE: &str = "type";
const PAYLOAD: &str = "payload";

/// Parent → iframe; `None` for anything that is not a non-empty `session_token`.
pub fn read_parent_message(m: &impl Fields) -> Option<ParentMessage> {
    match m.string(TYPE)?.as_str() {
        "session_token" => {
            let session_token = m.string("sessionToken").filter(|t| !t.is_empty())?;
            Some(ParentMessage::SessionToken { session_token })
        }
        _ => None,
    }
}

/// Iframe → parent.
pub fn write_connect_ui_event<W: Build>(event: &ConnectUiEvent) -> W {
    let mut w = W::empty();
    match event {
        ConnectUiEvent::Ready => w.set_string(TYPE, "ready"),
        ConnectUiEvent::Close => w.set_string(TYPE, "close"),
        ConnectUiEvent::Connect { payload } => {
            w.set_string(TYPE, "connect");
            w.set_object(PAYLOAD, write_connect_payload(payload));
        }
        ConnectUiEvent::Error { payload } => {
            w.set_string(TYPE, "error");
            let mut p = W::empty();
            p.set_string("errorType", &payload.error_type);
            p.set_string("errorMessage", &payload.error_message);
            w.set_object(PAYLOAD, p);
        }
    }
    w
}

fn write_connect_payload<W: Build>(payload: &ConnectPayload) -> W {
    let mut p = W::empty();
    p.set_string("providerConfigKey", &payload.provider_config_key);
    p.set_string("connectionId", &payload.connection_id);
    if let Some(pending) = payload.is_pending {
        p.set_bool("isPending", pending);
    }
    p
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
    })
}

/// The catalog's `auth_mode` string as the protocol's enum.
pub fn auth_mode(value: &str) -> AuthMode {
    match value {
        "OAUTH2" => AuthMode::Oauth2,
        "OAUTH2_CC" => AuthMode::Oauth2Cc,
        "API_KEY" => AuthMode::ApiKey,
        "BASIC" => AuthMode::Basic,
        "NONE" => AuthMode::None,
        other => AuthMode::Other(other.to_owned()),
    }
}

/// `(code, message)` of a `{"error": {"code", "message"}}` body.
pub fn read_api_error(m: &impl Fields) -> Option<(String, String)> {
    let error = m.object("error")?;
    Some((
        error.string("code")?,
        error.string("message").unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_protocol::connect::{ConnectSessionInfo, SessionEndUser};
    use latchkey_protocol::events::ErrorPayload;
    use latchkey_protocol::{ApiError, ApiErrorBody, DataEnvelope};
    use serde_json::{json, Map, Value};

    impl Fields for Value {
        fn string(&self, name: &str) -> Option<String> {
            self.get(name)?.as_str().map(str::to_owned)
        }
        fn boolean(&self, name: &str) -> Option<bool> {
            self.get(name)?.as_bool()
        }
        fn object(&self, name: &str) -> Option<Self> {
            self.get(name).filter(|v| v.is_object()).cloned()
        }
        fn list(&self, name: &str) -> Option<Vec<Self>> {
            self.get(name)?.as_array().cloned()
        }
        fn as_text(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
    }

    impl Build for Value {
        fn empty() -> Self {
            Value::Object(Map::new())
        }
        fn set_string(&mut self, name: &str, value: &str) {
            self[name] = Value::from(value);
        }
        fn set_bool(&mut self, name: &str, value: bool) {
            self[name] = Value::from(value);
        }
        fn set_object(&mut self, name: &str, value: Self) {
            self[name] = value;
        }
    }

    #[test]
    fn events_are_written_as_the_protocol_serializes_them() {
        let payload = |pending| ConnectPayload {
            provider_config_key: "github".into(),
            connection_id: "c1".into(),
            is_pending: pending,
        };
        let events = [
            ConnectUiEvent::Ready,
            ConnectUiEvent::Close,
            ConnectUiEvent::Connect {
                payload: payload(None),
            },
            ConnectUiEvent::Connect {
                payload: payload(Some(true)),
            },
            ConnectUiEvent::Error {
                payload: ErrorPayload {
                    error_type: "window_closed".into(),
                    error_message: "closed".into(),
                },
            },
        ];
        for event in events {
            assert_eq!(
                write_connect_ui_event::<Value>(&event),
                serde_json::to_value(&event).unwrap()
            );
        }
    }

    #[test]
    fn parent_messages_are_read_as_the_protocol_serializes_them() {
        let token = ParentMessage::SessionToken {
            session_token: "nango_connect_session_ab".into(),
        };
        assert_eq!(
            read_parent_message(&serde_json::to_value(&token).unwrap()),
            Some(token)
        );
        assert_eq!(
            read_parent_message(&json!({"type": "session_token", "sessionToken": ""})),
            None
        );
        assert_eq!(
            read_parent_message(&json!({"type": "settings_changed", "payload": {}})),
            None
        );
        assert_eq!(read_parent_message(&json!({"sessionToken": "x"})), None);
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
        ] {
            let name = serde_json::to_value(&mode).unwrap();
            assert_eq!(auth_mode(name.as_str().unwrap()), mode);
        }
        assert_eq!(auth_mode("TBA"), AuthMode::Other("TBA".into()));
        let provider =
            read_provider(&json!({"display_name": "GitHub", "auth_mode": "OAUTH2", "proxy": {}}))
                .unwrap();
        assert_eq!(
            (provider.display_name.as_str(), provider.auth_mode),
            ("GitHub", AuthMode::Oauth2)
        );
    }

    #[test]
    fn api_errors_are_read_from_the_protocol_shape() {
        let body = ApiErrorBody {
            error: ApiError {
                code: "not_found".into(),
                message: "nope".into(),
                errors: None,
            },
        };
        assert_eq!(
            read_api_error(&serde_json::to_value(&body).unwrap()),
            Some(("not_found".into(), "nope".into()))
        );
        assert_eq!(read_api_error(&json!({"message": "no envelope"})), None);
    }
}
