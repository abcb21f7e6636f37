//! The OAuth2 flow between Latchkey and a real authorization server, without a browser: a connect
//! session from the demo backend, `/oauth/connect`, the provider's login and consent, the callback,
//! and a stored access token that the provider accepts.

use latchkey_protocol::connection::Credentials;
use latchkey_tests::headless::HeadlessUser;
use latchkey_tests::stack::{Stack, LOCAL_OIDC};

#[tokio::test]
async fn oauth_flow_stores_tokens_the_provider_accepts_and_refreshes_them_once(
) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let start = stack.oauth_start_url(&stack.demo_session_token().await?)?;
    let user = HeadlessUser::new()?;
    let end = user.authorize(start.as_str(), "bob").await?;
    assert_eq!(end.url.path(), "/oauth/callback", "{end:?}");
    assert!(
        end.status.is_success(),
        "callback answered {}: {}",
        end.status,
        end.body
    );

    let connections = stack.server.list_connections().await?;
    assert_eq!(connections.len(), 1, "{connections:?}");
    let connection_id = connections[0]["connection_id"]
        .as_str()
        .expect("connection_id");
    let connection = stack
        .server
        .get_connection(connection_id, LOCAL_OIDC)
        .await?;
    let Credentials::OAuth2 {
        access_token,
        expires_at,
        ..
    } = &connection.credentials
    else {
        panic!(
            "expected OAUTH2 credentials, got {:?}",
            connection.credentials
        );
    };
    assert!(
        expires_at.is_some(),
        "expires_in from the provider should become expires_at"
    );
    assert_eq!(stack.oidc.userinfo(access_token).await?["sub"], "bob");

    let stats = stack.oidc.token_stats().await?;
    assert_eq!(stats.requests("authorization_code"), 1, "{stats:?}");
    assert_eq!(stats.requests("refresh_token"), 0, "{stats:?}");

    // A forced refresh reaches the provider once; the provider rotates the refresh token and the new
    // access token works too.
    let refreshed = stack
        .server
        .get_connection_with(
            connection_id,
            LOCAL_OIDC,
            &[("force_refresh", "true"), ("refresh_token", "true")],
        )
        .await?;
    let Credentials::OAuth2 {
        access_token: new_access,
        refresh_token: new_refresh,
        ..
    } = &refreshed.credentials
    else {
        panic!(
            "expected OAUTH2 credentials, got {:?}",
            refreshed.credentials
        );
    };
    assert_ne!(new_access, access_token);
    assert!(
        new_refresh.is_some(),
        "refresh_token=true should include the rotated refresh token"
    );
    assert_eq!(stack.oidc.userinfo(new_access).await?["sub"], "bob");
    let stats = stack.oidc.token_stats().await?;
    assert_eq!(stats.requests("refresh_token"), 1, "{stats:?}");
    assert!(stats.token_errors.is_empty(), "{stats:?}");

    // The authorization code was single-use at the provider and the state single-use at Latchkey:
    // replaying the callback must not create a second connection.
    let replay = reqwest::get(end.url.as_str()).await?;
    assert!(
        replay.status().is_client_error(),
        "replayed callback answered {}",
        replay.status()
    );
    assert_eq!(stack.server.list_connections().await?.len(), 1);
    Ok(())
}
