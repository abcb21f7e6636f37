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

/// One row of the webhook outbox, as `GET /environment/webhooks` lists it (Latchkey's own API; Nango
/// keeps no dead letters). `status`: `pending` (queued or retrying), `delivered`, or `failed` (a dead
/// letter: refused by the receiver or out of retries; `POST /environment/webhooks/{id}/resend` queues
/// it again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxWebhook {
    /// The `webhook-id` header of every attempt (receivers de-duplicate on it).
    pub id: String,
    pub url: String,
    pub status: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// When the next attempt is due (ISO 8601), for a pending webhook.
    pub next_attempt_at: Option<String>,
    /// What the last failed attempt got (`HTTP 500`, a network error…).
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub failed_at: Option<String>,
    /// The body sent, as JSON.
    pub payload: serde_json::Value,
}
