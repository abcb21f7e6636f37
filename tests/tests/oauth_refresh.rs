//! Token refresh against the real provider (oidc-provider, refresh-token rotation on): 100 concurrent
//! `GET /connection/:id` on an expired access token cause exactly one refresh upstream (counted by the
//! provider), the rotated refresh token is what we store, and a refresh the provider refuses is an
//! `invalid_credentials` error.

use latchkey_protocol::connection::{ConnectionResponse, Credentials};
use latchkey_tests::server::ApiCallError;
use latchkey_tests::stack::{Stack, StackOptions, LOCAL_OIDC};
use std::time::Duration;

const CONCURRENT: usize = 100;

fn tokens(c: &ConnectionResponse) -> (String, Option<String>) {
    match &c.credentials {
        Credentials::OAuth2 {
            access_token,
            refresh_token,
            ..
        } => (access_token.clone(), refresh_token.clone()),
        other => panic!("expected OAUTH2 credentials, got {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_reads_of_an_expired_token_refresh_once_and_store_the_rotated_refresh_token(
) -> anyhow::Result<()> {
    // The provider answers token requests a second late, so every caller's read lands while the one
    // refresh is in flight (a read arriving after it is stored would rightly see a token inside the
    // refresh window again: these 3-second tokens always are). The refreshed token outlives the
    // queue of waiters that re-read it.
    let stack = Stack::start_with(StackOptions {
        access_token_ttl: 3,
        token_delay_ms: 1000,
    })
    .await?;
    let id = stack.connect_headless("carol").await?;

    // Let the 3-second access token expire for real.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(stack.oidc.token_stats().await?.requests("refresh_token"), 0);

    // 100 callers at once, each on its own task (the server sees them truly concurrently).
    let mut url = stack.server.endpoint(&["connection", &id])?;
    url.query_pairs_mut()
        .append_pair("provider_config_key", LOCAL_OIDC)
        .append_pair("refresh_token", "true");
    let http = reqwest::Client::new();
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENT {
        let req = http.get(url.clone()).bearer_auth(stack.server.secret_key());
        reads.spawn(async move {
            let res = req.send().await?;
            let status = res.status();
            let body = res.text().await?;
            anyhow::ensure!(
                status.is_success(),
                "GET /connection answered {status}: {body}"
            );
            Ok::<_, anyhow::Error>(serde_json::from_str::<ConnectionResponse>(&body)?)
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(answer) = reads.join_next().await {
        seen.insert(tokens(&answer??));
    }
    let stats = stack.oidc.token_stats().await?;
    println!(
        "measured: {CONCURRENT} concurrent reads of an expired token -> {} upstream refresh(es)",
        stats.requests("refresh_token")
    );
    assert_eq!(stats.requests("refresh_token"), 1, "{stats:?}");
    assert!(stats.token_errors.is_empty(), "{stats:?}");
    assert_eq!(seen.len(), 1, "every caller got the same new tokens");
    let (access, refresh) = seen.into_iter().next().expect("one");
    assert_eq!(stack.oidc.userinfo(&access).await?["sub"], "carol");
    assert!(refresh.is_some(), "refresh_token=true includes it");

    // The stored refresh token is the rotated one: the provider accepts it for the next refresh
    // (with rotation on, the previous one is already spent).
    let again = stack
        .server
        .get_connection_with(
            &id,
            LOCAL_OIDC,
            &[("force_refresh", "true"), ("refresh_token", "true")],
        )
        .await?;
    let (access2, refresh2) = tokens(&again);
    assert_ne!(access2, access);
    let stats = stack.oidc.token_stats().await?;
    assert_eq!(stats.requests("refresh_token"), 2, "{stats:?}");
    assert!(stats.token_errors.is_empty(), "{stats:?}");

    // The provider revokes the grant: the next refresh fails with a typed error, not a 500.
    stack
        .oidc
        .revoke(&refresh2.expect("rotated refresh token"))
        .await?;
    let err = stack
        .server
        .get_connection_with(&id, LOCAL_OIDC, &[("force_refresh", "true")])
        .await
        .expect_err("a revoked refresh token cannot refresh");
    let err = err.downcast::<ApiCallError>()?;
    assert_eq!(err.status, 400, "{err}");
    assert_eq!(
        err.api_error().map(|e| e.error.code),
        Some("invalid_credentials".to_string()),
        "{err}"
    );
    Ok(())
}
