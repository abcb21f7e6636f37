//! Auth webhooks reach the customer's backend signed, and survive a receiver outage.

mod common;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::harness;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

/// A customer endpoint that fails its first delivery with a 503, then accepts.
async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let state = r.clone();
    let app = axum::Router::new().route(
        "/webhooks",
        post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let mut seen = state.seen.lock().unwrap();
                seen.push((headers, body));
                if seen.len() == 1 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/webhooks",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

#[tokio::test]
async fn connection_creation_webhook_is_signed_and_retried_after_a_5xx() {
    let (hook_url, received) = receiver().await;
    // An API-key provider without a verification endpoint: nothing leaves the machine.
    let h = harness(Some(
        "key-only:\n    display_name: Key only\n    auth_mode: API_KEY\n",
    ))
    .await;
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"webhook_url": hook_url})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    h.create_integration("key-only", "key-only", None).await;
    let token = h
        .session(json!({"end_user": {"id": "u42", "email": "u42@example.com"}}))
        .await;
    let created = h
        .browser_post(
            &format!("/api-auth/api-key/key-only?connect_session_token={token}"),
            json!({"apiKey": "sk-1"}),
        )
        .await
        .body;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while received.seen.lock().unwrap().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the webhook was not retried after the 503"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = received.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "delivered once after the retry, not more");
    let (headers, body) = &seen[1];
    assert_eq!(seen[0].1, *body, "the retry carries the same body");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["type"], "auth");
    assert_eq!(payload["operation"], "creation");
    assert_eq!(payload["success"], true);
    assert_eq!(payload["connectionId"], created["connectionId"]);
    assert_eq!(payload["providerConfigKey"], "key-only");
    assert_eq!(payload["tags"]["end_user_id"], "u42");

    let mut mac =
        Hmac::<Sha256>::new_from_slice(h.server.webhook_signing_key().as_bytes()).unwrap();
    mac.update(body.as_bytes());
    assert_eq!(
        headers["x-nango-hmac-sha256"].to_str().unwrap(),
        hex::encode(mac.finalize().into_bytes())
    );
    assert_eq!(
        headers["webhook-id"], seen[0].0["webhook-id"],
        "Standard Webhooks id is stable across retries"
    );
}
