//! The whole product on loopback for one test: local OAuth2 provider, Latchkey server with two
//! integrations (`local-oidc`, which really works, and `github`, so the Connect UI shows a list), and
//! the demo customer app. Dropping the stack stops all three.

use crate::demo::DemoApp;
use crate::headless::HeadlessUser;
use crate::oidc::{OidcOptions, OidcProvider};
use crate::server::{local_oidc_provider_yaml, LatchkeyServer, ReservedServer};

/// Integration key of the working local provider.
pub const LOCAL_OIDC: &str = "local-oidc";
/// Integration key of the second, never-completed integration.
pub const GITHUB: &str = "github";

/// Knobs for [`Stack::start_with`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Access-token lifetime the provider issues, in seconds.
    pub access_token_ttl: u64,
    /// The provider answers every token request this much later (0: at once).
    pub token_delay_ms: u64,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            access_token_ttl: 3600,
            token_delay_ms: 0,
        }
    }
}

/// Provider + server + demo. Field order is drop order: the demo stops first, the provider last.
pub struct Stack {
    pub demo: DemoApp,
    pub server: LatchkeyServer,
    pub oidc: OidcProvider,
}

impl Stack {
    /// Starts everything with default options.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(StackOptions::default()).await
    }

    /// Starts everything and creates the two integrations over REST with the secret key.
    pub async fn start_with(options: StackOptions) -> anyhow::Result<Self> {
        let reserved = ReservedServer::bind().await?;
        let mut oidc_options = OidcOptions::new(reserved.callback_url());
        oidc_options.access_token_ttl = options.access_token_ttl;
        oidc_options.token_delay_ms = options.token_delay_ms;
        let oidc = OidcProvider::start(oidc_options).await?;
        let server = reserved
            .start(Some(&local_oidc_provider_yaml(oidc.issuer())))
            .await?;
        server
            .create_integration(&serde_json::json!({
                "provider": "local-oidc",
                "unique_key": LOCAL_OIDC,
                "display_name": "Local OIDC",
                "credentials": {
                    "type": "OAUTH2",
                    "client_id": oidc.client_id(),
                    "client_secret": oidc.client_secret(),
                    "scopes": "openid,offline_access,email",
                },
            }))
            .await?;
        server
            .create_integration(&serde_json::json!({
                "provider": "github",
                "unique_key": GITHUB,
                "display_name": "GitHub",
                "credentials": {
                    "type": "OAUTH2",
                    "client_id": "fake-github-client-id",
                    "client_secret": "fake-github-client-secret",
                },
            }))
            .await?;
        let demo = DemoApp::start(server.url(), server.secret_key()).await?;
        Ok(Self { demo, server, oidc })
    }

    /// A connect session token, got the way a customer's page gets one: from the demo backend.
    pub async fn demo_session_token(&self) -> anyhow::Result<String> {
        let body: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/session-token", self.demo.url()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        body["sessionToken"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no sessionToken in {body}"))
    }

    /// Where the OAuth popup starts for `local-oidc` with that session token.
    pub fn oauth_start_url(&self, session_token: &str) -> anyhow::Result<reqwest::Url> {
        let mut start = self.server.endpoint(&["oauth", "connect", LOCAL_OIDC])?;
        start
            .query_pairs_mut()
            .append_pair("connect_session_token", session_token);
        Ok(start)
    }

    /// Connects `local-oidc` as the provider's user `login` through the whole OAuth flow (demo
    /// session → popup → provider login and consent → callback), without a browser; returns the new
    /// connection's id. Expects it to be the stack's first connection.
    pub async fn connect_headless(&self, login: &str) -> anyhow::Result<String> {
        let start = self.oauth_start_url(&self.demo_session_token().await?)?;
        let end = HeadlessUser::new()?
            .authorize(start.as_str(), login)
            .await?;
        anyhow::ensure!(
            end.status.is_success(),
            "callback answered {}: {}",
            end.status,
            end.body
        );
        let connections = self.server.list_connections().await?;
        connections
            .first()
            .and_then(|c| c["connection_id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no connection after the flow: {connections:?}"))
    }
}
