//! Integrations as the public API shows them (`GET /integrations`, reference §3.15).

use serde::{Deserialize, Serialize};

/// `ApiPublicIntegration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiPublicIntegration {
    pub unique_key: String,
    pub provider: String,
    pub display_name: String,
    pub logo: String,
    #[serde(default)]
    pub forward_webhooks: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The authentication modes of the provider catalog (`auth_mode`). Modes we do not implement still
/// parse, so a catalog that lists them loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthMode {
    Oauth2,
    #[serde(rename = "OAUTH2_CC")]
    Oauth2Cc,
    ApiKey,
    Basic,
    None,
    #[serde(untagged)]
    Other(String),
}
