//! The harness against the real server without a browser: the demo backend gets connect sessions from
//! Latchkey with the secret key, and the integrations the e2e tests rely on exist.

use latchkey_tests::stack::{Stack, GITHUB, LOCAL_OIDC};
use serde_json::Value;

#[tokio::test]
async fn demo_backend_creates_connect_sessions_on_the_real_server() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let http = reqwest::Client::new();

    let res = http
        .post(format!("{}/session-token", stack.demo.url()))
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await?;
    let token = body["sessionToken"].as_str().unwrap_or_default();
    assert!(
        token.starts_with("nango_connect_session_") && token.len() == 22 + 64,
        "{body}"
    );

    // With that token the Connect UI can list the integrations.
    let res = http
        .get(format!("{}/integrations", stack.server.url()))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await?;
    let mut keys: Vec<&str> = list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["unique_key"].as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, [GITHUB, LOCAL_OIDC]);

    // An unknown connection is a clear error, relayed with its status.
    let res = http
        .get(format!(
            "{}/api/connection/nope?integration={LOCAL_OIDC}",
            stack.demo.url()
        ))
        .send()
        .await?;
    assert!(res.status().is_client_error(), "{}", res.status());
    let body: Value = res.json().await?;
    assert!(body["error"]["code"].is_string(), "{body}");
    Ok(())
}
