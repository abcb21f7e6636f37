//! Unauthenticated connections on the real server (issue 3): `POST /auth/unauthenticated/:key` with
//! a connect session or the legacy public key (and its HMAC digest in HMAC mode), and a provider
//! that needs credentials refused.

use crate::common::{harness, NONE_CATALOG, PUBLIC_KEY};
use reqwest::Method;
use serde_json::json;

/// A server with an integration `pub` of a provider that needs no credentials, and a session.
async fn unauthenticated_integration() -> (crate::common::Harness, String) {
    let h = harness(Some(NONE_CATALOG)).await;
    h.create_integration("pub", "local-none", None).await;
    let session = h
        .session(json!({"end_user": {"id": "u7", "email": "u7@example.com"}}))
        .await;
    (h, session)
}

async fn unauthenticated_post(h: &crate::common::Harness, query: &str) -> crate::common::Reply {
    h.browser_post(&format!("/auth/unauthenticated/{query}"), json!({}))
        .await
}

#[tokio::test]
async fn a_session_creates_an_unauthenticated_connection_with_empty_credentials() {
    let (h, session) = unauthenticated_integration().await;
    let r = unauthenticated_post(&h, &format!("pub?connect_session_token={session}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["connectionId"].as_str().unwrap().to_string();
    let r = h.connection("pub", &id, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["credentials"], json!({}));
    assert_eq!(r.body["provider"], "local-none");
    assert_eq!(r.body["tags"]["end_user_email"], "u7@example.com");
    // The body must be empty.
    let r = h
        .browser_post(
            &format!("/auth/unauthenticated/pub?connect_session_token={session}"),
            json!({"apiKey": "x"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_body");
}

#[tokio::test]
async fn the_legacy_public_key_names_its_connection_and_is_checked() {
    let (h, _) = unauthenticated_integration().await;
    let r = unauthenticated_post(
        &h,
        &format!("pub?public_key={PUBLIC_KEY}&connection_id=my-conn"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["connectionId"], "my-conn");
    assert_eq!(h.connection("pub", "my-conn", "").await.status, 200);
    let r = unauthenticated_post(&h, "pub?public_key=0b5a3b9e-7c1d-4f2a-9e6b-3d2c1b0a9f8e").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], "invalid_public_key");
    let r = unauthenticated_post(&h, "pub").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], "missing_public_key");
    let r = unauthenticated_post(&h, &format!("nope?public_key={PUBLIC_KEY}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "unknown_provider_config");
}

#[tokio::test]
async fn in_hmac_mode_the_public_key_needs_the_backends_digest_and_sessions_do_not() {
    let (h, session) = unauthenticated_integration().await;
    // The backend signs "<integration>:<connection>".
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"hmac_enabled": true, "hmac_key": "hmac-k"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let base = format!("pub?public_key={PUBLIC_KEY}&connection_id=signed");
    let r = unauthenticated_post(&h, &base).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "missing_hmac");
    let wrong = latchkey_server::oauth::hmac::digest("hmac-k", "pub", Some("other"));
    let r = unauthenticated_post(&h, &format!("{base}&hmac={wrong}")).await;
    assert_eq!(r.body["error"]["code"], "invalid_hmac");
    let right = latchkey_server::oauth::hmac::digest("hmac-k", "pub", Some("signed"));
    let r = unauthenticated_post(&h, &format!("{base}&hmac={right}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = unauthenticated_post(&h, &format!("pub?connect_session_token={session}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_provider_that_needs_credentials_is_not_unauthenticated() {
    let (h, session) = unauthenticated_integration().await;
    h.create_integration("gh", "github", None).await;
    let r = unauthenticated_post(&h, &format!("gh?connect_session_token={session}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "invalid_auth_mode");
}
