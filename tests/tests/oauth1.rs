//! OAuth 1.0a (`OAUTH1`) against a provider whose every signature is verified by the npm package
//! `oauth-1.0a` (tests/oauth1/server.mjs): request token with the catalog's extra parameters, the
//! user's authorization, access token with the verifier, then proxied requests signed over repeated
//! and percent-encoded query and form parameters. Driven headlessly.

use latchkey_protocol::connection::Credentials;
use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::node_peer::NodePeer;
use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use serde_json::{json, Value};

const CONSUMER_KEY: &str = "latchkey-consumer";
const CONSUMER_SECRET: &str = "s3cr3t & more/=";

async fn start(method: &str) -> anyhow::Result<(NodePeer, LatchkeyServer)> {
    let peer = NodePeer::start(
        "oauth1 provider",
        "tests/oauth1/server.mjs",
        &[
            "--consumer-key",
            CONSUMER_KEY,
            "--consumer-secret",
            CONSUMER_SECRET,
            "--signature-method",
            method,
        ],
    )
    .await?;
    let base = peer.ready[0].clone();
    let yaml = format!(
        r#"local-oauth1:
    display_name: Local OAuth 1.0a
    auth_mode: OAUTH1
    request_url: {base}/oauth/request_token
    request_params: {{ x_auth_access_type: write }}
    authorization_url: {base}/oauth/authorize
    token_url: {base}/oauth/access_token
    signature_method: {method}
    proxy: {{ base_url: '{base}' }}
"#
    );
    let server = ReservedServer::bind().await?.start(Some(&yaml)).await?;
    server
        .create_integration(&json!({
            "provider": "local-oauth1",
            "unique_key": "local-oauth1",
            "credentials": {"type": "OAUTH1", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET},
        }))
        .await?;
    Ok((peer, server))
}

async fn stats(peer: &NodePeer) -> anyhow::Result<Value> {
    Ok(reqwest::get(format!("{}/__stats", peer.ready[0]))
        .await?
        .json()
        .await?)
}

/// The popup flow, headless; returns the connection id.
async fn connect(peer: &NodePeer, server: &LatchkeyServer) -> anyhow::Result<String> {
    let session: Value = reqwest::Client::new()
        .post(format!("{}/connect/sessions", server.url()))
        .bearer_auth(server.secret_key())
        .json(&json!({"end_user": {"id": "ann"}}))
        .send()
        .await?
        .json()
        .await?;
    let mut start = server.endpoint(&["oauth", "connect", "local-oauth1"])?;
    start.query_pairs_mut().append_pair(
        "connect_session_token",
        session["data"]["token"].as_str().expect("token"),
    );
    let end = HeadlessUser::new()?
        .authorize(start.as_str(), "ann")
        .await?;
    let seen = stats(peer).await?;
    assert_eq!(
        end.url.path(),
        "/oauth/callback",
        "{end:?}; provider: {seen}"
    );
    assert!(
        end.status.is_success(),
        "{}: {}; provider: {seen}",
        end.status,
        end.body
    );
    let connections = server.list_connections().await?;
    assert_eq!(connections.len(), 1, "{connections:?}");
    Ok(connections[0]["connection_id"]
        .as_str()
        .expect("id")
        .to_owned())
}

#[tokio::test]
async fn oauth1_flow_stores_token_credentials_and_the_proxy_signs_edge_case_parameters(
) -> anyhow::Result<()> {
    let (peer, server) = start("HMAC-SHA1").await?;
    let id = connect(&peer, &server).await?;

    // Nango's shape: type OAUTH1, the token credentials and the provider's whole answer.
    let connection = server.get_connection(&id, "local-oauth1").await?;
    let Credentials::OAuth1 {
        oauth_token,
        oauth_token_secret,
        raw,
    } = &connection.credentials
    else {
        panic!(
            "expected OAUTH1 credentials, got {:?}",
            connection.credentials
        );
    };
    assert!(!oauth_token.is_empty() && !oauth_token_secret.is_empty());
    assert_eq!(raw["screen_name"], "ann");
    let wire: Value = reqwest::Client::new()
        .get(format!(
            "{}/connection/{id}?provider_config_key=local-oauth1",
            server.url()
        ))
        .bearer_auth(server.secret_key())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(wire["credentials"]["type"], "OAUTH1", "{wire}");

    // Proxied requests are signed: repeated keys, reserved and non-ASCII characters, encoded
    // delimiters, an empty value, in the query and in a form body.
    let http = reqwest::Client::new();
    let query = "tag=b&tag=a%20b&tag=a&q=caf%C3%A9%2F%26%3D%2A~&empty=";
    let res = http
        .post(format!("{}/proxy/api/items?{query}", server.url()))
        .bearer_auth(server.secret_key())
        .header("connection-id", &id)
        .header("provider-config-key", "local-oauth1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x=2&x=1&note=a%20%26%20b%21&plus=1%2B1")
        .send()
        .await?;
    let status = res.status();
    let body = res.text().await?;
    assert_eq!(status, 200, "{body}; stats {}", stats(&peer).await?);
    let seen: Value = serde_json::from_str(&body)?;
    assert_eq!(seen["query"]["tag"], json!(["b", "a b", "a"]));
    assert_eq!(seen["query"]["q"], json!(["café/&=*~"]));
    assert_eq!(seen["form"]["x"], json!(["2", "1"]));
    assert_eq!(seen["form"]["note"], "a & b!");
    assert_eq!(seen["form"]["plus"], "1+1");

    // A GET without parameters too.
    let res = http
        .get(format!("{}/proxy/api/me", server.url()))
        .bearer_auth(server.secret_key())
        .header("connection-id", &id)
        .header("provider-config-key", "local-oauth1")
        .send()
        .await?;
    assert_eq!(res.status(), 200, "{}", res.text().await?);

    let stats = stats(&peer).await?;
    assert_eq!(stats["failures"], json!([]), "{stats}");
    assert_eq!(stats["request_token"], 1);
    assert_eq!(stats["access_token"], 1);
    Ok(())
}

#[tokio::test]
async fn oauth1_plaintext_signatures_verify_too() -> anyhow::Result<()> {
    let (peer, server) = start("PLAINTEXT").await?;
    let id = connect(&peer, &server).await?;
    let res = reqwest::Client::new()
        .get(format!("{}/proxy/api/me?a=1", server.url()))
        .bearer_auth(server.secret_key())
        .header("connection-id", &id)
        .header("provider-config-key", "local-oauth1")
        .send()
        .await?;
    assert_eq!(res.status(), 200, "{}", res.text().await?);
    assert_eq!(stats(&peer).await?["failures"], json!([]));
    Ok(())
}
