//! MCP OAuth (`MCP_OAUTH2`, `MCP_OAUTH2_GENERIC`) against a real authorization server from npm: the
//! official `@modelcontextprotocol/sdk` server-side auth router (tests/mcp/server.mjs), which
//! registers clients dynamically (RFC 7591), enforces PKCE S256 and resource indicators (RFC 8707),
//! and protects an MCP endpoint that answers only to the tokens it issued. Driven headlessly.

use latchkey_protocol::connection::Credentials;
use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::node_peer::NodePeer;
use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use serde_json::{json, Value};

struct McpPeer {
    peer: NodePeer,
}

impl McpPeer {
    async fn start() -> anyhow::Result<Self> {
        let peer = NodePeer::start("mcp auth server", "tests/mcp/server.mjs", &[]).await?;
        anyhow::ensure!(peer.ready.len() == 2, "READY line: {:?}", peer.ready);
        Ok(Self { peer })
    }
    fn issuer(&self) -> &str {
        &self.peer.ready[0]
    }
    fn mcp_url(&self) -> &str {
        &self.peer.ready[1]
    }
    async fn stats(&self) -> anyhow::Result<Value> {
        Ok(reqwest::get(format!("{}/__stats", self.issuer()))
            .await?
            .json()
            .await?)
    }
    /// What the protected MCP endpoint answers to `token` (status, body).
    async fn call(&self, token: &str) -> anyhow::Result<(u16, Value)> {
        let res = reqwest::Client::new()
            .get(self.mcp_url())
            .bearer_auth(token)
            .send()
            .await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    fn providers_yaml(&self) -> String {
        let issuer = self.issuer();
        let mcp = self.mcp_url();
        format!(
            r#"local-mcp:
    display_name: Local MCP
    auth_mode: MCP_OAUTH2
    client_registration: dynamic
    authorization_url: {issuer}/authorize
    token_url: {issuer}/token
    registration_url: {issuer}/register
    registration_params: {{ grant_types: [authorization_code, refresh_token], response_types: [code] }}
    authorization_params: {{ resource: '{mcp}', response_type: code }}
    token_params: {{ grant_type: authorization_code }}
    refresh_params: {{ grant_type: refresh_token }}
    proxy: {{ base_url: '{mcp}' }}
local-mcp-generic:
    display_name: Local MCP (generic)
    auth_mode: MCP_OAUTH2_GENERIC
    connection_config:
        mcp_server_url:
            type: string
            title: MCP Server URL
            pattern: '^https?://[a-zA-Z0-9.-]+(?::[0-9]+)?(?:/.*)?$'
    proxy: {{ base_url: '${{connectionConfig.mcp_server_url}}' }}
"#
        )
    }
}

async fn session_token(server: &LatchkeyServer, user: &str) -> anyhow::Result<String> {
    let session: Value = reqwest::Client::new()
        .post(format!("{}/connect/sessions", server.url()))
        .bearer_auth(server.secret_key())
        .json(&json!({"end_user": {"id": user}}))
        .send()
        .await?
        .json()
        .await?;
    Ok(session["data"]["token"]
        .as_str()
        .expect("session token")
        .to_owned())
}

/// Runs the popup flow headlessly for `key`; returns the new connection's id.
async fn connect(
    server: &LatchkeyServer,
    key: &str,
    user: &str,
    params: &[(&str, &str)],
) -> anyhow::Result<String> {
    let before = server.list_connections().await?.len();
    let mut start = server.endpoint(&["oauth", "connect", key])?;
    start
        .query_pairs_mut()
        .append_pair("connect_session_token", &session_token(server, user).await?)
        .extend_pairs(params);
    let end = HeadlessUser::new()?.authorize(start.as_str(), user).await?;
    assert_eq!(end.url.path(), "/oauth/callback", "{end:?}");
    assert!(end.status.is_success(), "{}: {}", end.status, end.body);
    let connections = server.list_connections().await?;
    assert_eq!(connections.len(), before + 1, "{connections:?}");
    let newest = connections
        .iter()
        .find(|c| c["end_user"]["id"] == user || c["end_user"]["endUserId"] == user)
        .or(connections.last())
        .expect("a connection");
    Ok(newest["connection_id"].as_str().expect("id").to_owned())
}

fn oauth2(c: &Credentials) -> (String, Option<String>, Option<String>) {
    match c {
        Credentials::OAuth2 {
            access_token,
            refresh_token,
            config_override,
            ..
        } => (
            access_token.clone(),
            refresh_token.clone(),
            config_override.as_ref().and_then(|o| o.client_id.clone()),
        ),
        other => panic!("expected OAUTH2 credentials, got {other:?}"),
    }
}

#[tokio::test]
async fn mcp_oauth2_registers_once_sends_the_resource_and_refreshes() -> anyhow::Result<()> {
    let peer = McpPeer::start().await?;
    let server = ReservedServer::bind()
        .await?
        .start(Some(&peer.providers_yaml()))
        .await?;
    // No OAuth client: the server registers one.
    server
        .create_integration(&json!({"provider": "local-mcp", "unique_key": "local-mcp"}))
        .await?;

    let first = connect(&server, "local-mcp", "ann", &[]).await?;
    let connection = server
        .get_connection_with(&first, "local-mcp", &[("refresh_token", "true")])
        .await?;
    let (access, refresh, client_id) = oauth2(&connection.credentials);
    assert!(refresh.is_some(), "the server issues refresh tokens");
    let client_id = client_id.expect("the registered client is kept with the connection");
    // The token works at the MCP server, was issued to the registered client for its resource.
    let (status, who) = peer.call(&access).await?;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["client_id"], client_id.as_str());
    assert_eq!(who["resource"], peer.mcp_url());

    // A second connection reuses the (sealed) registration.
    let second = connect(&server, "local-mcp", "bea", &[]).await?;
    assert_ne!(first, second);
    let stats = peer.stats().await?;
    assert_eq!(stats["registrations"], 1, "{stats}");
    assert_eq!(stats["token_requests"]["authorization_code"], 2, "{stats}");

    // A forced refresh goes through the renewal gate with the registered client and the resource.
    let refreshed = server
        .get_connection_with(&first, "local-mcp", &[("force_refresh", "true")])
        .await?;
    let (new_access, _, same_client) = oauth2(&refreshed.credentials);
    assert_ne!(new_access, access);
    assert_eq!(same_client.as_deref(), Some(client_id.as_str()));
    assert_eq!(peer.call(&new_access).await?.0, 200);
    let stats = peer.stats().await?;
    assert_eq!(stats["token_requests"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["token_errors"], json!([]), "{stats}");
    Ok(())
}

#[tokio::test]
async fn mcp_generic_discovers_the_authorization_server_from_the_server_url() -> anyhow::Result<()>
{
    let peer = McpPeer::start().await?;
    let server = ReservedServer::bind()
        .await?
        .start(Some(&peer.providers_yaml()))
        .await?;
    server
        .create_integration(&json!({"provider": "local-mcp-generic", "unique_key": "any-mcp"}))
        .await?;

    let id = connect(
        &server,
        "any-mcp",
        "cid",
        &[("params[mcp_server_url]", peer.mcp_url())],
    )
    .await?;
    let connection = server.get_connection(&id, "any-mcp").await?;
    let (access, _, client_id) = oauth2(&connection.credentials);
    let (status, who) = peer.call(&access).await?;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["client_id"], client_id.expect("registered").as_str());
    let config = serde_json::to_value(&connection.connection_config)?;
    assert_eq!(config["mcp_server_url"], peer.mcp_url());
    assert_eq!(
        config["oauth_token_endpoint"],
        format!("{}/token", peer.issuer())
    );

    // Refresh uses the discovered token endpoint.
    let refreshed = server
        .get_connection_with(&id, "any-mcp", &[("force_refresh", "true")])
        .await?;
    let (new_access, _, _) = oauth2(&refreshed.credentials);
    assert_ne!(new_access, access);
    assert_eq!(peer.call(&new_access).await?.0, 200);
    let stats = peer.stats().await?;
    assert_eq!(stats["registrations"], 1, "{stats}");
    assert_eq!(stats["token_requests"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["token_errors"], json!([]), "{stats}");
    Ok(())
}

/// Without the test-only private-network switch, discovery never reaches a loopback or plain-http
/// MCP server, and nothing is registered there.
#[tokio::test]
async fn mcp_generic_discovery_refuses_private_and_plain_http_servers() -> anyhow::Result<()> {
    let peer = McpPeer::start().await?;
    let server = ReservedServer::bind()
        .await?
        .start_configured(Some(&peer.providers_yaml()), |c| {
            c.allow_private_providers = false;
        })
        .await?;
    server
        .create_integration(&json!({"provider": "local-mcp-generic", "unique_key": "any-mcp"}))
        .await?;
    let https_loopback = peer.mcp_url().replacen("http://", "https://", 1);
    for (url, expect) in [
        (peer.mcp_url(), "must be an https URL"),
        (https_loopback.as_str(), "private or loopback"),
    ] {
        let mut start = server.endpoint(&["oauth", "connect", "any-mcp"])?;
        start
            .query_pairs_mut()
            .append_pair(
                "connect_session_token",
                &session_token(&server, "dan").await?,
            )
            .append_pair("params[mcp_server_url]", url);
        let end = HeadlessUser::new()?.get(start.as_str()).await?;
        assert!(
            !end.status.is_success() && !end.status.is_redirection(),
            "{end:?}"
        );
        assert!(end.body.contains(expect), "{url}: {}", end.body);
    }
    assert_eq!(peer.stats().await?["registrations"], 0);
    assert!(server.list_connections().await?.is_empty());
    Ok(())
}
