//! Integrations as the public API shows them (`GET /integrations`, reference §3.15).

use serde::{Deserialize, Serialize};

/// `ApiPublicIntegration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    // ---- added for issue 15 (credential-based modes, helper `auth`) ------------------------------
    TwoStep,
    Jwt,
    Bill,
    Signature,
    Tba,
    #[serde(rename = "AWS_SIGV4")]
    AwsSigV4,
    // ---- added for issue 15 (popup and redirect modes) ---------------------------------------------
    /// OAuth 2.1 for a catalog MCP server: dynamic client registration (RFC 7591) unless static.
    #[serde(rename = "MCP_OAUTH2")]
    McpOauth2,
    /// OAuth 2.1 for an MCP server the user names: metadata discovery (RFC 9728, RFC 8414).
    #[serde(rename = "MCP_OAUTH2_GENERIC")]
    McpOauth2Generic,
    /// OAuth 1.0a (RFC 5849).
    #[serde(rename = "OAUTH1")]
    Oauth1,
    /// The end user installs the integration owner's plugin at the provider (Crisp), which sends
    /// them back to the callback; requests use the owner's plugin credentials (`auth_type`).
    InstallPlugin,
    #[serde(untagged)]
    Other(String),
}

impl AuthMode {
    /// The catalog's name of the mode (`OAUTH2`, `API_KEY`, …), as webhooks and `token_url` maps use it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Oauth2 => "OAUTH2",
            Self::Oauth2Cc => "OAUTH2_CC",
            Self::ApiKey => "API_KEY",
            Self::Basic => "BASIC",
            Self::None => "NONE",
            Self::TwoStep => "TWO_STEP",
            Self::Jwt => "JWT",
            Self::Bill => "BILL",
            Self::Signature => "SIGNATURE",
            Self::Tba => "TBA",
            Self::AwsSigV4 => "AWS_SIGV4",
            Self::McpOauth2 => "MCP_OAUTH2",
            Self::McpOauth2Generic => "MCP_OAUTH2_GENERIC",
            Self::Oauth1 => "OAUTH1",
            Self::InstallPlugin => "INSTALL_PLUGIN",
            Self::Other(name) => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AuthMode;

    #[test]
    fn as_str_is_the_serialized_name() {
        for mode in [
            AuthMode::Oauth2,
            AuthMode::Oauth2Cc,
            AuthMode::ApiKey,
            AuthMode::Basic,
            AuthMode::None,
            AuthMode::TwoStep,
            AuthMode::Jwt,
            AuthMode::Bill,
            AuthMode::Signature,
            AuthMode::Tba,
            AuthMode::AwsSigV4,
            AuthMode::McpOauth2,
            AuthMode::McpOauth2Generic,
            AuthMode::Oauth1,
            AuthMode::InstallPlugin,
        ] {
            assert_eq!(serde_json::to_value(&mode).unwrap(), mode.as_str());
        }
        let other: AuthMode = serde_json::from_str("\"OAUTH1\"").unwrap();
        assert_eq!(other.as_str(), "OAUTH1");
    }
}
