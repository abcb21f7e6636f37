//! Webhooks Latchkey sends to the customer's backend (reference §5.1).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Error detail of a failed auth operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookError {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
}

/// `type: "auth"`: a connection was created, re-authorized, or failed to refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthWebhook {
    /// Always `"nango"` (clients check it).
    pub from: String,
    /// Always `"auth"`.
    #[serde(rename = "type")]
    pub kind: String,
    pub connection_id: String,
    pub provider_config_key: String,
    pub auth_mode: String,
    pub provider: String,
    pub environment: String,
    /// `creation` | `override` | `refresh`.
    pub operation: String,
    pub success: bool,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WebhookError>,
}

/// Header carrying `hex(HMAC-SHA256(signing key, body))`, what `@nangohq/node` verifies.
pub const HMAC_HEADER: &str = "X-Nango-Hmac-Sha256";
