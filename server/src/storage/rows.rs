//! Row types: what the store reads and writes. JSON columns are kept as text here and parsed by the
//! domain layer, so SQL stays dumb.

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnvironmentRow {
    pub id: i64,
    pub name: String,
    pub secret_key_hash: String,
    pub secret_key_enc: Vec<u8>,
    pub public_key: String,
    pub webhook_signing_key_enc: Vec<u8>,
    pub key_id: String,
    pub created_at: String,
    /// `EnvironmentSettings` as JSON.
    pub settings: String,
    /// The environment's public, opaque id (provider webhook URLs name it); set for every row
    /// since migration 0070.
    pub uuid: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub name: String,
    pub uuid: String,
    pub secret_key_hash: String,
    pub secret_key_enc: Vec<u8>,
    pub public_key: String,
    pub webhook_signing_key_enc: Vec<u8>,
    pub key_id: String,
    pub created_at: String,
}

/// A new secret key for an environment, with its webhook signing key re-sealed under the same key id.
#[derive(Debug, Clone)]
pub struct SealedKeys {
    pub secret_key_hash: String,
    pub secret_key_enc: Vec<u8>,
    pub webhook_signing_key_enc: Vec<u8>,
    pub key_id: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntegrationRow {
    pub id: i64,
    pub environment_id: i64,
    pub unique_key: String,
    pub provider: String,
    pub display_name: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_enc: Option<Vec<u8>>,
    pub key_id: Option<String>,
    pub scopes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The sealed `integration_config` values (a JSON object of strings), issue 15.
    pub custom_enc: Option<Vec<u8>>,
    pub custom_key_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub environment_id: i64,
    pub unique_key: String,
    pub provider: String,
    pub display_name: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_enc: Option<Vec<u8>>,
    pub key_id: Option<String>,
    pub scopes: Option<String>,
    /// The sealed `integration_config` values and the id of the key that sealed them.
    pub custom_enc: Option<Vec<u8>>,
    pub custom_key_id: Option<String>,
    pub now: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectSessionRow {
    pub id: i64,
    pub environment_id: i64,
    pub token_hash: String,
    pub end_user: Option<String>,
    pub organization: Option<String>,
    pub allowed_integrations: Option<String>,
    pub integrations_config_defaults: Option<String>,
    pub tags: Option<String>,
    pub reconnect_connection_id: Option<String>,
    pub expires_at: i64,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct NewConnectSession {
    pub environment_id: i64,
    pub token_hash: String,
    pub end_user: Option<String>,
    pub organization: Option<String>,
    pub allowed_integrations: Option<String>,
    pub integrations_config_defaults: Option<String>,
    pub tags: Option<String>,
    pub reconnect_connection_id: Option<String>,
    pub expires_at: i64,
    pub created_at: String,
}

/// One OAuth authorization in flight, keyed by the hash of its `state`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthAttemptRow {
    pub state_hash: String,
    pub environment_id: i64,
    pub connect_session_id: Option<i64>,
    pub provider_config_key: String,
    pub connection_id: String,
    pub code_verifier_enc: Vec<u8>,
    pub key_id: String,
    pub browser_binding_hash: String,
    pub ws_client_id: Option<String>,
    pub opener_origin: Option<String>,
    pub connection_config: String,
    pub callback_url: String,
    pub tags: Option<String>,
    pub end_user: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: i64,
    pub environment_id: i64,
    pub provider_config_key: String,
    pub connection_id: String,
    pub provider: String,
    pub credentials_enc: Vec<u8>,
    pub key_id: String,
    pub connection_config: String,
    pub metadata: String,
    pub tags: String,
    pub end_user: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Failed refreshes since the last success (migration 0020), and when the last one happened.
    pub refresh_failures: i64,
    pub last_refresh_failure_at: Option<String>,
    /// UTC days with a failed refresh since the last success (migration 0040; Nango's
    /// `refresh_attempts`): at [`crate::connections::error::EXHAUSTED_AFTER_DAYS`] the grant is exhausted.
    pub refresh_failure_days: i64,
}

#[derive(Debug, Clone)]
pub struct NewConnection {
    pub environment_id: i64,
    pub provider_config_key: String,
    pub connection_id: String,
    pub provider: String,
    pub credentials_enc: Vec<u8>,
    pub key_id: String,
    pub connection_config: String,
    pub tags: String,
    pub end_user: Option<String>,
    pub now: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub environment_id: i64,
    pub url: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<String>,
    pub failed_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    /// Who is sending it now (a random token per claim, migration 0040).
    pub claim: Option<String>,
}

/// A webhook to queue.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: String,
    pub environment_id: i64,
    pub url: String,
    pub body: String,
    pub now_unix: i64,
    pub now: String,
}

/// Where a webhook is in the outbox.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    /// Waiting for its first or next attempt (or being sent).
    Pending,
    Delivered,
    /// Dead letter: refused by the receiver or out of attempts; re-sent only on request.
    Failed,
}

impl WebhookRow {
    pub fn status(&self) -> WebhookStatus {
        if self.delivered_at.is_some() {
            WebhookStatus::Delivered
        } else if self.failed_at.is_some() {
            WebhookStatus::Failed
        } else {
            WebhookStatus::Pending
        }
    }
}
