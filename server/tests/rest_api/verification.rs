//! Credential verification through the catalog's `proxy.verification` on the real server (issue 3):
//! a refused API key or basic pair is not saved, an accepted one is, and a provider that is down
//! does not block the end user.

use crate::common::{harness, serve};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A provider API that accepts one API key (header `x-api-key: good-key`) and one basic pair
/// (`alice:right`), counting verification calls.
async fn verify_key(State(hits): State<Arc<AtomicUsize>>, headers: HeaderMap) -> StatusCode {
    hits.fetch_add(1, Ordering::SeqCst);
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some("good-key") => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn verify_basic(State(hits): State<Arc<AtomicUsize>>, headers: HeaderMap) -> StatusCode {
    hits.fetch_add(1, Ordering::SeqCst);
    // base64("alice:right")
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Basic YWxpY2U6cmlnaHQ=") => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// A server whose API-key (`key`), basic (`basic`) and down (`down`) integrations declare a
/// `proxy.verification` against a loopback API that counts its hits; a session for them.
struct Verifying {
    h: crate::common::Harness,
    hits: Arc<AtomicUsize>,
    session: String,
}

async fn verifying() -> Verifying {
    let hits = Arc::new(AtomicUsize::new(0));
    let api = serve(
        Router::new()
            .route("/v1/verify", get(verify_key))
            .route("/me", get(verify_basic))
            .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .with_state(hits.clone()),
    )
    .await;
    let h = harness(Some(&format!(
        "local-key:\n  display_name: Local Key\n  auth_mode: API_KEY\n  proxy:\n    base_url: {api}\n    \
         headers:\n      x-api-key: ${{apiKey}}\n    verification:\n      method: GET\n      endpoints:\n        - /v1/verify\n\
         local-basic:\n  display_name: Local Basic\n  auth_mode: BASIC\n  proxy:\n    base_url: https://unused.example\n    \
         verification:\n      endpoints: [/me]\n      base_url_override: {api}\n\
         local-down:\n  display_name: Local Down\n  auth_mode: API_KEY\n  proxy:\n    base_url: {api}\n    \
         verification:\n      endpoints: [/down]\n"
    )))
    .await;
    h.create_integration("key", "local-key", None).await;
    h.create_integration("basic", "local-basic", None).await;
    let session = h.session(json!({"end_user": {"id": "u"}})).await;

    h.create_integration("down", "local-down", None).await;
    Verifying { h, hits, session }
}

impl Verifying {
    async fn submit(&self, route: &str, key: &str, body: Value) -> crate::common::Reply {
        let path = format!("{route}{key}?connect_session_token={}", self.session);
        self.h.browser_post(&path, body).await
    }
}

#[tokio::test]
async fn a_refused_api_key_is_not_saved_and_an_accepted_one_is() {
    let v = verifying().await;
    let r = v
        .submit("/api-auth/api-key/", "key", json!({"apiKey": "bad-key"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "connection_test_failed");
    assert!(!r.body.to_string().contains("bad-key"), "{}", r.body);
    assert_eq!(v.hits.load(Ordering::SeqCst), 1);
    let list = v.h.backend(Method::GET, "/connections", None).await;
    assert_eq!(list.body["connections"], json!([]), "nothing saved");
    let r = v
        .submit("/api-auth/api-key/", "key", json!({"apiKey": "good-key"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(v.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn basic_credentials_are_verified_at_the_providers_verification_url() {
    let v = verifying().await;
    let wrong = json!({"username": "alice", "password": "wrong"});
    let r = v.submit("/api-auth/basic/", "basic", wrong).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "connection_test_failed");
    let right = json!({"username": "alice", "password": "right"});
    let r = v.submit("/api-auth/basic/", "basic", right).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(v.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_provider_that_is_down_does_not_block_the_end_user() {
    let v = verifying().await;
    // A 5xx from the verification endpoint: saved unverified.
    let r = v
        .submit("/api-auth/api-key/", "down", json!({"apiKey": "any"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
