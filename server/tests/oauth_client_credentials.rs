//! `POST /oauth2/auth/:key` against a real authorization server: panva's `oidc-provider`
//! (`tests/oidc/provider.mjs`, started by the e2e harness) with the `client_credentials` grant enabled.
//! The token is fetched before the connection is saved, a wrong secret is refused upstream, and a forced
//! read fetches a new token — each counted at the provider.

mod common;

use latchkey_test_peers::oidc::{OidcOptions, OidcProvider};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn client_credentials_against_the_real_oidc_provider() {
    let oidc = OidcProvider::start(OidcOptions::new("http://localhost/unused/callback"))
        .await
        .expect("oidc-provider starts (run `npm ci` at the workspace root)");
    // The provider authenticates clients with HTTP Basic (`client_secret_basic`).
    let h = common::harness(Some(&format!(
        "local-oidc-cc:\n  display_name: Local OIDC (client credentials)\n  auth_mode: OAUTH2_CC\n  \
         token_url: {}/token\n  token_request_auth_method: basic\n  token_params:\n    grant_type: client_credentials\n",
        oidc.issuer()
    )))
    .await;
    h.create_integration("oidc-cc", "local-oidc-cc", None).await;
    let session = h.session(json!({"end_user": {"id": "machine"}})).await;
    let path = format!("/oauth2/auth/oidc-cc?connect_session_token={session}");

    let r = h
        .browser_post(
            &path,
            json!({"client_id": oidc.client_id(), "client_secret": "not-the-secret"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "client_credentials_fetch_error");
    let stats = oidc.token_stats().await.unwrap();
    assert_eq!(stats.requests("client_credentials"), 1, "{stats:?}");

    let r = h
        .browser_post(
            &path,
            json!({"client_id": oidc.client_id(), "client_secret": oidc.client_secret()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let r = h.connection("oidc-cc", &id, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["credentials"]["type"], "OAUTH2_CC");
    let first = r.body["credentials"]["token"].as_str().unwrap().to_string();
    assert!(!first.is_empty());
    assert_eq!(r.body["credentials"]["client_id"], oidc.client_id());
    assert!(r.body["credentials"]["expires_at"].is_string());
    let stats = oidc.token_stats().await.unwrap();
    assert_eq!(stats.requests("client_credentials"), 2, "{stats:?}");
    assert_eq!(stats.token_errors.get("client_credentials"), Some(&1));

    let r = h.connection("oidc-cc", &id, "&force_refresh=true").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(r.body["credentials"]["token"], first);
    assert_eq!(
        oidc.token_stats()
            .await
            .unwrap()
            .requests("client_credentials"),
        3
    );
    let list = h
        .backend(Method::GET, "/connections?integrationId=oidc-cc", None)
        .await;
    assert_eq!(list.body["connections"].as_array().unwrap().len(), 1);
}
