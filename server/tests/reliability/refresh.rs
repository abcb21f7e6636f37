//! Refreshes under faults (issue 12; on PostgreSQL too when the suite runs with
//! `LATCHKEY_TEST_POSTGRES`): a refresh never overwrites a newer grant, and failing refreshes cool
//! down and exhaust, which the connection shows.

use crate::common::reliability::Receiver;
use crate::common::{harness_configured, serve, Harness};
use axum::http::StatusCode;
use axum::routing::post;
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A token endpoint whose refresh answers wait until the test opens `gate` (when set), and that
/// refuses refresh tokens starting with `dead`.
struct Provider {
    url: String,
    refreshes: Arc<AtomicUsize>,
    gate: Arc<tokio::sync::Notify>,
    started: Arc<tokio::sync::Notify>,
    hold: Arc<Mutex<bool>>,
}

async fn provider() -> Provider {
    let refreshes = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Notify::new());
    let started = Arc::new(tokio::sync::Notify::new());
    let hold = Arc::new(Mutex::new(false));
    let (r, g, s, hd) = (
        refreshes.clone(),
        gate.clone(),
        started.clone(),
        hold.clone(),
    );
    let url = serve(axum::Router::new().route(
        "/token",
        post(move |body: String| {
            let (r, g, s, hd) = (r.clone(), g.clone(), s.clone(), hd.clone());
            async move {
                let n = r.fetch_add(1, Ordering::SeqCst);
                let form: std::collections::HashMap<String, String> =
                    url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                if form["refresh_token"].starts_with("dead") {
                    return (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": "invalid_grant"})),
                    );
                }
                let held = *hd.lock().unwrap();
                if held {
                    s.notify_one();
                    g.notified().await;
                }
                (
                    StatusCode::OK,
                    axum::Json(json!({"access_token": format!("refreshed-{n}"),
                        "token_type": "bearer", "expires_in": 3600})),
                )
            }
        }),
    ))
    .await;
    Provider {
        url,
        refreshes,
        gate,
        started,
        hold,
    }
}

async fn oauth_harness(p: &Provider) -> (Harness, Receiver) {
    let catalog = format!(
        "fake:\n    display_name: Fake\n    auth_mode: OAUTH2\n    authorization_url: {0}/authorize\n    token_url: {0}/token\n",
        p.url
    );
    let (url, receiver) = Receiver::start().await;
    let h = harness_configured(Some(&catalog), |c| c.webhook_url = Some(url)).await;
    h.create_integration(
        "fake",
        "fake",
        Some(json!({"type": "OAUTH2", "client_id": "cid", "client_secret": "cs"})),
    )
    .await;
    (h, receiver)
}

async fn import_oauth(h: &Harness, access: &str, refresh: &str, expires_in: i64) {
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(expires_in);
    let r = h
        .backend(
            Method::POST,
            "/connections",
            Some(json!({"provider_config_key": "fake", "connection_id": "c1",
                "credentials": {"type": "OAUTH2", "access_token": access, "refresh_token": refresh,
                                "expires_at": expires_at.to_rfc3339()}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn a_refresh_that_started_before_a_reconnect_does_not_overwrite_the_newer_grant() {
    let p = provider().await;
    let (h, _) = oauth_harness(&p).await;
    let h = Arc::new(h);
    import_oauth(&h, "old-access", "old-refresh", 60).await;
    *p.hold.lock().unwrap() = true;
    // A read needs a refresh (expires within the window); the provider holds its answer…
    let reader = {
        let h = h.clone();
        tokio::spawn(async move { h.connection("fake", "c1", "").await })
    };
    tokio::time::timeout(Duration::from_secs(10), p.started.notified())
        .await
        .expect("the refresh reached the provider");
    // …while the end user re-authorizes: a newer grant is stored.
    import_oauth(&h, "new-access", "new-refresh", 7200).await;
    p.gate.notify_one();
    let read = reader.await.unwrap();
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(
        read.body["credentials"]["access_token"], "new-access",
        "the reader gets the newer grant, not the refresh of the old one"
    );
    let again = h.connection("fake", "c1", "&refresh_token=true").await;
    assert_eq!(again.body["credentials"]["access_token"], "new-access");
    assert_eq!(again.body["credentials"]["refresh_token"], "new-refresh");
    assert_eq!(p.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn failing_refreshes_cool_down_and_exhaust_and_the_connection_shows_it() {
    let p = provider().await;
    let (h, receiver) = oauth_harness(&p).await;
    import_oauth(&h, "a", "dead-refresh", 60).await;
    receiver.wait_for(1, Duration::from_secs(10)).await; // the import's creation webhook

    let r = h.connection("fake", "c1", "").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "invalid_credentials");
    assert_eq!(p.refreshes.load(Ordering::SeqCst), 1);
    // Within 30 s, reads do not call the provider again (nor queue another webhook).
    for _ in 0..3 {
        let r = h.connection("fake", "c1", "").await;
        assert_eq!(r.status, 400);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("30 seconds"),
            "{}",
            r.body
        );
    }
    assert_eq!(p.refreshes.load(Ordering::SeqCst), 1, "cooldown");
    receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(h.settled_webhooks().await.len(), 2);
    assert_eq!(receiver.count(), 2, "one refresh-failure webhook");
    let list = h.backend(Method::GET, "/connections", None).await;
    assert_eq!(list.body["connections"][0]["errors"][0]["type"], "auth");

    // Failing on four days exhausts automatic refreshes; a forced one still tries.
    h.sql(
        "UPDATE connections SET refresh_failure_days = 4, last_refresh_failure_at = '2020-01-01T00:00:00.000Z'",
    )
    .await;
    let r = h.connection("fake", "c1", "").await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reconnect"),
        "{}",
        r.body
    );
    assert_eq!(p.refreshes.load(Ordering::SeqCst), 1, "exhausted");
    let r = h.connection("fake", "c1", "&force_refresh=true").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        p.refreshes.load(Ordering::SeqCst),
        2,
        "forced refresh tries"
    );
    // A reconnect starts over.
    import_oauth(&h, "b", "good-refresh", 60).await;
    let r = h.connection("fake", "c1", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["credentials"]["access_token"], "refreshed-2");
    assert_eq!(r.body["errors"], json!([]));
}
