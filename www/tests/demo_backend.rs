//! The demo backend against a stand-in Latchkey API: what it sends upstream (secret key, session body)
//! and what it lets through to the browser (never the secret key, never a token).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_demo::{demo_session_request, router, DemoConfig};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const SECRET: &str = "5f0c8f3e-3a47-4c1e-9b1d-8d2b8f9e0a11";
const ACCESS_TOKEN: &str = "at-very-secret-access-token";
const API_KEY: &str = "sk_live_very-secret-api-key";

#[derive(Default)]
struct Seen {
    requests: Vec<(String, Option<String>, Value)>,
}

type Shared = Arc<Mutex<Seen>>;

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A fake Latchkey: sessions succeed, connection `c-1` of `local-oidc` exists, anything else is 404.
async fn fake_latchkey() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/connect/sessions",
            post(|State(seen): State<Shared>, headers: HeaderMap, Json(body): Json<Value>| async move {
                seen.lock().unwrap().requests.push(("POST /connect/sessions".into(), bearer(&headers), body));
                let data = json!({"token": "nango_connect_session_abc", "connect_link": "x", "expires_at": "2030-01-01T00:00:00Z"});
                (StatusCode::CREATED, Json(json!({ "data": data })))
            }),
        )
        .route(
            "/connection/{id}",
            get(
                |State(seen): State<Shared>,
                 headers: HeaderMap,
                 Path(id): Path<String>,
                 Query(q): Query<HashMap<String, String>>| async move {
                    let key = q.get("provider_config_key").cloned().unwrap_or_default();
                    seen.lock().unwrap().requests.push((format!("GET /connection/{id}?{key}"), bearer(&headers), Value::Null));
                    if id == "k-1" && key == "stripe" {
                        return (
                            StatusCode::OK,
                            Json(json!({
                                "id": 2, "connection_id": id, "provider_config_key": key, "provider": "stripe",
                                "errors": [], "end_user": null, "tags": {}, "metadata": {}, "connection_config": {},
                                "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z",
                                "credentials": {"type": "API_KEY", "apiKey": API_KEY}
                            })),
                        );
                    }
                    if id != "c 1/x" || key != "local-oidc" {
                        let err = json!({"error": {"code": "unknown_connection", "message": "No connection"}});
                        return (StatusCode::NOT_FOUND, Json(err));
                    }
                    (
                        StatusCode::OK,
                        Json(json!({
                            "id": 1, "connection_id": id, "provider_config_key": key, "provider": "local-oidc",
                            "errors": [], "end_user": null, "tags": {}, "metadata": {}, "connection_config": {},
                            "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z",
                            "credentials": {"type": "OAUTH2", "access_token": ACCESS_TOKEN,
                                "expires_at": "2030-01-01T01:00:00Z", "raw": {"access_token": ACCESS_TOKEN}}
                        })),
                    )
                },
            ),
        )
        .route(
            "/connections",
            get(|State(seen): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                let user = q.get("endUserId").cloned().unwrap_or_default();
                seen.lock().unwrap().requests.push((format!("GET /connections?{user}"), bearer(&headers), Value::Null));
                let item = |id: &str, key: &str, created: &str| json!({
                    "id": 1, "connection_id": id, "provider_config_key": key, "provider": key, "errors": [],
                    "end_user": {"id": user}, "tags": {}, "metadata": {}, "created": created});
                Json(json!({"connections": [
                    item("c-old", "local-oidc", "2030-01-01T00:00:00Z"),
                    item("k-1", "stripe", "2030-02-01T00:00:00Z"),
                ]}))
            }),
        )
        .route(
            "/connect/sessions/reconnect",
            post(|State(seen): State<Shared>, headers: HeaderMap, Json(body): Json<Value>| async move {
                seen.lock().unwrap().requests.push(("POST /connect/sessions/reconnect".into(), bearer(&headers), body));
                let data = json!({"token": "nango_connect_session_re", "connect_link": "x", "expires_at": "2030-01-01T00:00:00Z"});
                (StatusCode::CREATED, Json(json!({ "data": data })))
            }),
        )
        .with_state(seen.clone());
    (serve(app).await, seen)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn demo_for(host: &str) -> String {
    serve(router(DemoConfig::new(host, SECRET))).await
}

#[tokio::test]
async fn session_token_is_created_server_side_with_the_secret_key() {
    let (latchkey, seen) = fake_latchkey().await;
    let demo = demo_for(&latchkey).await;

    let res = reqwest::Client::new()
        .post(format!("{demo}/session-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"sessionToken": "nango_connect_session_abc"}));

    let seen = seen.lock().unwrap();
    let (route, auth, sent) = &seen.requests[0];
    assert_eq!(route, "POST /connect/sessions");
    assert_eq!(auth.as_deref(), Some(format!("Bearer {SECRET}").as_str()));
    assert_eq!(sent, &serde_json::to_value(demo_session_request()).unwrap());
    assert_eq!(sent["end_user"]["id"], "demo-user");
    assert_eq!(sent["organization"]["id"], "demo-org");
}

#[tokio::test]
async fn connection_summary_reports_the_token_without_revealing_it() {
    let (latchkey, seen) = fake_latchkey().await;
    let demo = demo_for(&latchkey).await;

    // An id that needs escaping must reach the API as one path segment.
    let res = reqwest::get(format!(
        "{demo}/api/connection/c%201%2Fx?integration=local-oidc"
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(ACCESS_TOKEN),
        "the page must never see the token: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({"connectionId": "c 1/x", "providerConfigKey": "local-oidc", "provider": "local-oidc",
               "authMode": "OAUTH2", "hasCredentials": true, "expiresAt": "2030-01-01T01:00:00Z"})
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests[0].0, "GET /connection/c 1/x?local-oidc");
    assert_eq!(
        seen.requests[0].1.as_deref(),
        Some(format!("Bearer {SECRET}").as_str())
    );
}

#[tokio::test]
async fn an_api_key_connection_counts_as_connected_without_revealing_the_key() {
    let (latchkey, _) = fake_latchkey().await;
    let demo = demo_for(&latchkey).await;
    let text = reqwest::get(format!("{demo}/api/connection/k-1?integration=stripe"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains(API_KEY),
        "the page must never see the key: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({"connectionId": "k-1", "providerConfigKey": "stripe", "provider": "stripe",
               "authMode": "API_KEY", "hasCredentials": true, "expiresAt": null})
    );
}

#[tokio::test]
async fn lists_the_demo_users_connections_and_creates_reconnect_sessions() {
    let (latchkey, seen) = fake_latchkey().await;
    let demo = demo_for(&latchkey).await;
    let list: Value = reqwest::get(format!("{demo}/api/connections"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list,
        json!([
            {"connectionId": "k-1", "providerConfigKey": "stripe", "provider": "stripe", "created": "2030-02-01T00:00:00Z"},
            {"connectionId": "c-old", "providerConfigKey": "local-oidc", "provider": "local-oidc", "created": "2030-01-01T00:00:00Z"},
        ])
    );
    let res = reqwest::Client::new()
        .post(format!("{demo}/session-token/reconnect"))
        .json(&json!({"connectionId": "k-1", "integration": "stripe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({"sessionToken": "nango_connect_session_re"}));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests[0].0, "GET /connections?demo-user");
    let (route, auth, sent) = &seen.requests[1];
    assert_eq!(route, "POST /connect/sessions/reconnect");
    assert_eq!(auth.as_deref(), Some(format!("Bearer {SECRET}").as_str()));
    assert_eq!(sent["connection_id"], "k-1");
    assert_eq!(sent["integration_id"], "stripe");
    assert_eq!(sent["end_user"]["id"], "demo-user");
}

#[tokio::test]
async fn upstream_errors_keep_their_status_and_code() {
    let (latchkey, _) = fake_latchkey().await;
    let demo = demo_for(&latchkey).await;

    let res = reqwest::get(format!("{demo}/api/connection/nope?integration=local-oidc"))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_connection");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("No connection"));
}

#[tokio::test]
async fn unreachable_latchkey_is_a_bad_gateway_without_details_of_the_url() {
    // Bind then drop: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let demo = demo_for(&format!("http://127.0.0.1:{port}")).await;

    let res = reqwest::Client::new()
        .post(format!("{demo}/session-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "latchkey_unreachable");
    assert!(!body.to_string().contains(&port.to_string()), "{body}");
}

#[tokio::test]
async fn page_assets_and_config_never_contain_the_secret_key() {
    let demo = demo_for("http://localhost:3003").await;
    for (path, content_type) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
        ("/config.json", "application/json"),
    ] {
        let res = reqwest::get(format!("{demo}{path}")).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
        let text = res.text().await.unwrap();
        assert!(!text.contains(SECRET), "{path} leaks the secret key");
    }
    let config: Value = reqwest::get(format!("{demo}/config.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config,
        json!({"host": "http://localhost:3003", "connectUiUrl": "http://localhost:3003/connect/"})
    );
}
