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

/// `GET /integrations/{key}?include=webhook&include=credentials`: the integration with the parts
/// asked for (Nango's `ApiPublicIntegrationInclude`); a part not asked for is absent, one asked for
/// that does not exist is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiPublicIntegrationIncluded {
    #[serde(flatten)]
    pub integration: ApiPublicIntegration,
    /// Where the provider's own webhooks for this integration are received: always `null` here
    /// (Latchkey does not forward provider webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Option<String>>,
    /// The app credentials the integration holds (OAuth app, TBA, plugin), `null` when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Option<IntegrationAppCredentials>>,
}

/// An integration's app credentials as `include=credentials` shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationAppCredentials {
    /// The provider's auth mode (`OAUTH2`, `OAUTH1`, `TBA`, `MCP_OAUTH2`, `INSTALL_PLUGIN`, `APP`;
    /// for `APP`, `client_id` is the app id and `client_secret` its private key).
    #[serde(rename = "type")]
    pub kind: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<String>,
    /// The secret the provider signs its webhooks with: set for a GitHub App with user
    /// authorization (`CUSTOM`), whose `installation` webhooks finish pending connections.
    pub webhook_secret: Option<String>,
    /// `INSTALL_PLUGIN`: the plugin's install page; `APP`: the app's public link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_link: Option<String>,
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
    /// A GitHub App: the end user installs the owner's app; the server fetches installation tokens
    /// with the app's JWT.
    App,
    /// A GitHub App that also authorizes the user (`github-app-oauth`): the install page asks for the
    /// user's OAuth consent too; the connection holds the installation token and the user's token.
    Custom,
    #[serde(untagged)]
    Other(String),
}

impl AuthMode {
    /// A GitHub App (`APP`, or `CUSTOM`: an app install that also authorizes the user): its token URL
    /// names the installation, known only when GitHub sends the user back.
    pub fn is_github_app(&self) -> bool {
        matches!(self, Self::App | Self::Custom)
    }

    /// The popup sends the user to the integration owner's install page (a plugin, a GitHub App)
    /// instead of an authorization URL.
    pub fn installs(&self) -> bool {
        matches!(self, Self::InstallPlugin | Self::App | Self::Custom)
    }

    /// Whether an integration of this mode holds the owner's app credentials (client id, secret,
    /// scopes) given on `POST /integrations`; end users supply every other mode's credentials.
    pub fn holds_app_credentials(&self) -> bool {
        matches!(
            self,
            Self::Oauth2
                | Self::Oauth1
                | Self::Tba
                | Self::McpOauth2
                | Self::InstallPlugin
                | Self::App
                | Self::Custom
        )
    }

    /// The mode named `name` (`Other` for names this build does not know).
    pub fn parse(name: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(name.to_string()))
            .unwrap_or_else(|_| Self::Other(name.to_string()))
    }

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
            Self::App => "APP",
            Self::Custom => "CUSTOM",
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
            AuthMode::App,
            AuthMode::Custom,
        ] {
            assert_eq!(serde_json::to_value(&mode).unwrap(), mode.as_str());
        }
        let other: AuthMode = serde_json::from_str("\"OAUTH1\"").unwrap();
        assert_eq!(other.as_str(), "OAUTH1");
        assert_eq!(AuthMode::parse("OAUTH2_CC"), AuthMode::Oauth2Cc);
        assert_eq!(AuthMode::parse("CUSTOM"), AuthMode::Custom);
        assert_eq!(AuthMode::parse("SOMETHING_NEW").as_str(), "SOMETHING_NEW");
        assert!(AuthMode::parse("TBA").holds_app_credentials());
        assert!(!AuthMode::parse("OAUTH2_CC").holds_app_credentials());
    }
}
