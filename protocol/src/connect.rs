//! Connect sessions: `POST /connect/sessions` and `GET /connect/session` (reference §3.1–3.3).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The end user a session is created for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndUser {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// The end user's organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Per-integration defaults a backend pins into a session; they win over what the browser sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfigDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_scopes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_params: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_config: Option<BTreeMap<String, serde_json::Value>>,
}

/// Body of `POST /connect/sessions` (strict: unknown fields are rejected).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateConnectSessionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<EndUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_integrations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrations_config_defaults: Option<BTreeMap<String, IntegrationConfigDefaults>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_override: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// Body of `POST /connect/sessions/reconnect`: a session pinned to one existing connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateReconnectSessionRequest {
    pub connection_id: String,
    pub integration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<EndUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrations_config_defaults: Option<BTreeMap<String, IntegrationConfigDefaults>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url_override: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// `data` of the 201 answer to `POST /connect/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectSessionCreated {
    pub token: String,
    pub connect_link: String,
    /// ISO-8601 UTC.
    pub expires_at: String,
}

/// Primary colour per theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThemeColors {
    pub primary: String,
}

/// Connect UI branding of the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectUiTheme {
    pub light: ThemeColors,
    pub dark: ThemeColors,
}

/// `connectUISettings` of `GET /connect/session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectUiSettings {
    pub theme: ConnectUiTheme,
    /// `light` | `dark` | `system`.
    #[serde(alias = "default_theme")]
    pub default_theme: String,
    #[serde(alias = "show_watermark")]
    pub show_watermark: bool,
}

impl Default for ConnectUiSettings {
    fn default() -> Self {
        let primary = ThemeColors {
            primary: "#00B2E3".into(),
        };
        Self {
            theme: ConnectUiTheme {
                light: primary.clone(),
                dark: primary,
            },
            default_theme: "system".into(),
            show_watermark: false,
        }
    }
}

/// End user as returned by `GET /connect/session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionEndUser {
    pub id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub organization: Option<Organization>,
}

/// `data` of `GET /connect/session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectSessionInfo {
    #[serde(rename = "endUser")]
    pub end_user: Option<SessionEndUser>,
    #[serde(rename = "connectUISettings")]
    pub connect_ui_settings: ConnectUiSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_integrations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrations_config_defaults: Option<BTreeMap<String, IntegrationConfigDefaults>>,
    #[serde(
        rename = "isReconnecting",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_reconnecting: Option<bool>,
    #[serde(
        rename = "websocketsPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub websockets_path: Option<String>,
}

/// `credentials[oauth_client_id_override]`, `…_secret_override`, `…_refresh_token_override`: the
/// frontend (or the session's `integrations_config_defaults[key].connection_config`) may replace the
/// integration's OAuth client for one connection (reference §4.1 step 9, §4.4).
/// The server reads them from the authorize request and from a session's defaults.
pub const CLIENT_ID_OVERRIDE: &str = "oauth_client_id_override";
pub const CLIENT_SECRET_OVERRIDE: &str = "oauth_client_secret_override";
pub const REFRESH_TOKEN_OVERRIDE: &str = "oauth_refresh_token_override";
pub const OVERRIDE_KEYS: [&str; 3] = [
    CLIENT_ID_OVERRIDE,
    CLIENT_SECRET_OVERRIDE,
    REFRESH_TOKEN_OVERRIDE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_rejects_unknown_fields() {
        let err = serde_json::from_str::<CreateConnectSessionRequest>(
            r#"{"end_user":{"id":"u1"},"colour":"red"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn session_info_uses_nango_field_names() {
        let info = ConnectSessionInfo {
            end_user: None,
            connect_ui_settings: ConnectUiSettings::default(),
            allowed_integrations: Some(vec!["github".into()]),
            integrations_config_defaults: None,
            is_reconnecting: None,
            websockets_path: Some("/".into()),
        };
        let v = serde_json::to_value(&info).unwrap();
        assert!(v
            .get("connectUISettings")
            .unwrap()
            .get("defaultTheme")
            .is_some());
        assert_eq!(v["websocketsPath"], "/");
        assert!(v.get("isReconnecting").is_none());
    }
}
