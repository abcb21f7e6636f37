//! Connections as `GET /connection(s)/:id` returns them (reference §3.10).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Stored credentials, tagged by `type` like Nango.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Credentials {
    #[serde(rename = "OAUTH2")]
    OAuth2 {
        access_token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refresh_token: Option<String>,
        /// ISO-8601 UTC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<String>,
        #[serde(default)]
        raw: serde_json::Value,
    },
    #[serde(rename = "API_KEY")]
    ApiKey {
        #[serde(rename = "apiKey")]
        api_key: String,
    },
    #[serde(rename = "BASIC")]
    Basic { username: String, password: String },
}

/// Body of `GET /connection(s)/:id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionResponse {
    pub id: i64,
    pub connection_id: String,
    pub provider_config_key: String,
    pub provider: String,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
    pub end_user: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub connection_config: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
    pub credentials: Credentials,
}

/// Answer of the credential-submission endpoints (`POST /api-auth/*`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResult {
    pub provider_config_key: String,
    pub connection_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pending: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth2_credentials_carry_the_nango_type_tag() {
        let c = Credentials::OAuth2 {
            access_token: "a".into(),
            refresh_token: None,
            expires_at: None,
            raw: serde_json::json!({}),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "OAUTH2");
        assert_eq!(v["access_token"], "a");
    }

    #[test]
    fn api_key_credentials_use_camel_case_key() {
        let c: Credentials = serde_json::from_str(r#"{"type":"API_KEY","apiKey":"k"}"#).unwrap();
        assert_eq!(
            c,
            Credentials::ApiKey {
                api_key: "k".into()
            }
        );
    }
}
