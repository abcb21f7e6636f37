//! The proxy against the real OAuth provider (oidc-provider): `@nangohq/node`'s `get` through
//! `/proxy/me` reaches the provider's userinfo endpoint with the connection's access token; when the
//! provider rejects a token that still looks valid to Latchkey, its 401 makes the proxy refresh the
//! token once and repeat the call, and the caller sees only the success.

use latchkey_protocol::connection::Credentials;
use latchkey_tests::server::LatchkeyServer;
use latchkey_tests::stack::{Stack, LOCAL_OIDC};
use serde_json::Value;

/// `nango.<method>({endpoint, providerConfigKey, connectionId})` with the real `@nangohq/node`;
/// returns the status and the body (the provider's, or the proxy's error envelope).
async fn nango_node(
    server: &LatchkeyServer,
    method: &str,
    endpoint: &str,
    connection_id: &str,
) -> anyhow::Result<(u16, Value)> {
    let script = r#"
        import { Nango } from '@nangohq/node';
        const nango = new Nango({ host: process.env.HOST, secretKey: process.env.SECRET_KEY });
        const call = { endpoint: process.env.ENDPOINT, providerConfigKey: process.env.KEY,
                       connectionId: process.env.CONNECTION_ID };
        try {
            const res = await nango[process.env.METHOD](call);
            console.log(JSON.stringify({ status: res.status, data: res.data }));
        } catch (e) {
            if (!e.response) throw e;
            console.log(JSON.stringify({ status: e.response.status, data: e.response.data }));
        }
    "#;
    let out = tokio::process::Command::new("node")
        .args(["--input-type=module", "-e", script])
        .current_dir(latchkey_tests::workspace_root())
        .env("HOST", server.url())
        .env("SECRET_KEY", server.secret_key())
        .env("METHOD", method)
        .env("ENDPOINT", endpoint)
        .env("KEY", LOCAL_OIDC)
        .env("CONNECTION_ID", connection_id)
        .kill_on_drop(true)
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    Ok((
        answer["status"].as_u64().unwrap_or(0) as u16,
        answer["data"].clone(),
    ))
}

fn access_token(c: &Credentials) -> String {
    match c {
        Credentials::OAuth2 { access_token, .. } => access_token.clone(),
        other => panic!("expected OAUTH2 credentials, got {other:?}"),
    }
}

#[tokio::test]
async fn a_401_from_the_provider_refreshes_the_token_once_and_the_call_succeeds(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let id = stack.connect_headless("dave").await?;

    // The proxy calls the provider's userinfo endpoint with the stored token.
    let (status, me) = nango_node(&stack.server, "get", "/me", &id).await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["sub"], "dave");
    assert_eq!(stack.oidc.token_stats().await?.requests("refresh_token"), 0);

    // The provider no longer accepts the stored access token, though its expiry is far off (it
    // was replaced elsewhere): simulated by importing the connection again with a dead access token
    // and the real refresh token.
    let refresh_token = match stack
        .server
        .get_connection_with(&id, LOCAL_OIDC, &[("refresh_token", "true")])
        .await?
        .credentials
    {
        Credentials::OAuth2 { refresh_token, .. } => refresh_token.expect("a refresh token"),
        other => panic!("expected OAUTH2 credentials, got {other:?}"),
    };
    let imported = reqwest::Client::new()
        .post(stack.server.endpoint(&["connections"])?)
        .bearer_auth(stack.server.secret_key())
        .json(&serde_json::json!({
            "provider_config_key": LOCAL_OIDC,
            "connection_id": id,
            "credentials": {"type": "OAUTH2", "access_token": "replaced-elsewhere",
                            "refresh_token": refresh_token, "expires_at": "2099-01-01T00:00:00.000Z"},
        }))
        .send()
        .await?;
    assert_eq!(imported.status(), 201, "{}", imported.text().await?);

    let (status, me) = nango_node(&stack.server, "get", "/me", &id).await?;
    assert_eq!(status, 200, "the caller sees the retried call: {me}");
    assert_eq!(me["sub"], "dave");
    let stats = stack.oidc.token_stats().await?;
    assert_eq!(
        stats.requests("refresh_token"),
        1,
        "one forced refresh: {stats:?}"
    );
    let after = access_token(
        &stack
            .server
            .get_connection(&id, LOCAL_OIDC)
            .await?
            .credentials,
    );
    assert_ne!(after, "replaced-elsewhere", "the refreshed token is stored");
    assert_eq!(stack.oidc.userinfo(&after).await?["sub"], "dave");

    // The provider revokes the grant (revoking an access token does, in oidc-provider): the forced
    // refresh fails too, and the caller gets the provider's own 401 — not a proxy error — after a
    // single refresh attempt.
    stack.oidc.revoke(&after).await?;
    let (status, body) = nango_node(&stack.server, "get", "/me", &id).await?;
    assert_eq!(status, 401, "the provider's answer: {body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    assert_eq!(
        stack.oidc.token_stats().await?.requests("refresh_token"),
        2,
        "one more refresh attempt, no loop"
    );
    Ok(())
}
