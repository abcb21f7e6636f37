//! Reliability under concurrency, bad input and faults (issue 12), on SQLite and — when the suite
//! runs with `LATCHKEY_TEST_POSTGRES` — on PostgreSQL:
//! - parallel writers of connections never see a 5xx, and each connection is reported created once;
//! - every rejection, from a handler or from the framework, is the JSON error envelope;
//! - the webhook outbox honours `Retry-After`, keeps dead letters and re-sends them on request;
//! - a refresh never overwrites a newer grant, and failing refreshes cool down and exhaust.

mod common;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use common::{harness_configured, serve, Harness};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An API-key provider without a verification endpoint (nothing leaves the machine).
const KEY_ONLY: &str = "key-only:\n    display_name: Key only\n    auth_mode: API_KEY\n";

/// What a webhook receiver answers, switchable during a test.
#[derive(Clone)]
struct Receiver {
    /// (arrival, webhook-id, body) of every request.
    seen: Arc<Mutex<Vec<(Instant, String, Value)>>>,
    /// Status to answer (and `Retry-After` seconds for it).
    answer: Arc<Mutex<(u16, Option<u64>)>>,
}

impl Receiver {
    async fn start() -> (String, Self) {
        let r = Receiver {
            seen: Default::default(),
            answer: Arc::new(Mutex::new((200, None))),
        };
        let state = r.clone();
        let url = serve(axum::Router::new().route(
            "/hooks",
            post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let id = headers["webhook-id"].to_str().unwrap().to_string();
                    let body: Value = serde_json::from_str(&body).unwrap();
                    state.seen.lock().unwrap().push((Instant::now(), id, body));
                    let (status, retry_after) = *state.answer.lock().unwrap();
                    let mut res = StatusCode::from_u16(status).unwrap().into_response();
                    if let Some(secs) = retry_after {
                        res.headers_mut()
                            .insert("retry-after", secs.to_string().parse().unwrap());
                    }
                    res
                }
            }),
        ))
        .await;
        (format!("{url}/hooks"), r)
    }

    fn answer(&self, status: u16, retry_after: Option<u64>) {
        *self.answer.lock().unwrap() = (status, retry_after);
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    async fn wait_for(&self, count: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.count() < count {
            assert!(
                Instant::now() < deadline,
                "{} of {count} webhook requests within {limit:?}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn with_receiver() -> (Harness, Receiver) {
    let (url, receiver) = Receiver::start().await;
    let h = harness_configured(Some(KEY_ONLY), |c| c.webhook_url = Some(url)).await;
    h.create_integration("key-only", "key-only", None).await;
    (h, receiver)
}

#[tokio::test]
async fn parallel_writers_never_get_a_5xx_and_each_connection_is_created_once() {
    let (h, receiver) = with_receiver().await;
    let h = Arc::new(h);
    // 8 clients import the same 4 connections at once, 4 rounds each (Nango's POST /connections).
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for client in 0..8 {
        let (h, statuses) = (h.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            for round in 0..4 {
                for conn in 0..4 {
                    let r = h
                        .backend(
                            Method::POST,
                            "/connections",
                            Some(json!({
                                "provider_config_key": "key-only",
                                "connection_id": format!("shared-{conn}"),
                                "credentials": {"type": "API_KEY", "apiKey": format!("k-{client}-{round}")},
                            })),
                        )
                        .await;
                    statuses.lock().unwrap().push((r.status, r.body.to_string()));
                }
            }
        }));
    }
    // Meanwhile 8 end users submit API keys through their own connect sessions, 4 each.
    let mut sessions = Vec::new();
    for user in 0..8 {
        sessions.push(
            h.session(json!({"end_user": {"id": format!("user-{user}")}}))
                .await,
        );
    }
    for token in sessions {
        let (h, statuses) = (h.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..4 {
                let r = h
                    .browser_post(
                        &format!("/api-auth/api-key/key-only?connect_session_token={token}"),
                        json!({"apiKey": format!("sk-{n}")}),
                    )
                    .await;
                statuses
                    .lock()
                    .unwrap()
                    .push((r.status, r.body.to_string()));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let statuses = statuses.lock().unwrap().clone();
    let failed: Vec<_> = statuses.iter().filter(|(s, _)| *s >= 300).collect();
    assert!(
        failed.is_empty(),
        "{} of {} writes failed: {:?}",
        failed.len(),
        statuses.len(),
        &failed[..failed.len().min(3)]
    );
    assert_eq!(statuses.len(), 8 * 4 * 4 + 8 * 4);

    // One webhook per write (in the write's transaction); one `creation` per connection.
    let connections = 4 + 8 * 4;
    receiver
        .wait_for(statuses.len(), Duration::from_secs(30))
        .await;
    assert_eq!(h.settled_webhooks().await.len(), statuses.len());
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), statuses.len(), "one webhook per write, no more");
    let mut creations = std::collections::BTreeMap::<String, usize>::new();
    for (_, _, body) in &seen {
        if body["operation"] == "creation" {
            *creations
                .entry(body["connectionId"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert_eq!(creations.len(), connections, "{creations:?}");
    assert!(creations.values().all(|n| *n == 1), "{creations:?}");
    // Every connection holds the key of one of its writers.
    let r = h.connection("key-only", "shared-0", "").await;
    assert_eq!(r.status, 200);
    assert!(r.body["credentials"]["apiKey"]
        .as_str()
        .unwrap()
        .starts_with("k-"));
}

/// (method, path, raw body, status, code) for a rejection.
type Case = (Method, &'static str, Option<String>, u16, &'static str);

#[tokio::test]
async fn every_rejection_is_the_json_envelope_with_nangos_code() {
    let (h, _) = with_receiver().await;
    let big = format!("{{\"provider\":\"{}\"}}", "x".repeat(300 * 1024));
    let cases: Vec<Case> = vec![
        // Query: a duplicate field, a wrong type, an unknown field.
        (
            Method::GET,
            "/connections/c1?provider_config_key=key-only&provider_config_key=other",
            None,
            400,
            "invalid_query_params",
        ),
        (
            Method::GET,
            "/environment/webhooks?limit=many",
            None,
            400,
            "invalid_query_params",
        ),
        (
            Method::GET,
            "/environment/webhooks?colour=red",
            None,
            400,
            "invalid_query_params",
        ),
        // Path: bad UTF-8 in a path parameter.
        (
            Method::GET,
            "/connections/%FF%FE?provider_config_key=key-only",
            None,
            400,
            "invalid_uri_params",
        ),
        (
            Method::GET,
            "/providers/%C3%28",
            None,
            400,
            "invalid_uri_params",
        ),
        // Body: not JSON, not an object where an object is required, over the size limit.
        (
            Method::POST,
            "/integrations",
            Some("{not json".into()),
            400,
            "invalid_json",
        ),
        (
            Method::POST,
            "/integrations",
            Some(r#"["key-only","arr-key"]"#.into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/integrations",
            Some(r#""key-only""#.into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/connect/sessions",
            Some(r#"[{"id":"u1"}]"#.into()),
            400,
            "invalid_body",
        ),
        (
            Method::PATCH,
            "/environment/settings",
            Some("[null,null]".into()),
            400,
            "invalid_body",
        ),
        (
            Method::PATCH,
            "/environment/settings",
            Some("42".into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/connections/metadata",
            Some("true".into()),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/integrations",
            Some(big),
            413,
            "payload_too_large",
        ),
        // Method, route, and files under /connect/ and /sdk/.
        (
            Method::DELETE,
            "/providers",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::PUT,
            "/connect/sessions",
            None,
            405,
            "method_not_allowed",
        ),
        (Method::GET, "/no/such/route", None, 404, "not_found"),
        (Method::GET, "/connect/missing.js", None, 404, "not_found"),
        (Method::GET, "/sdk/missing.js", None, 404, "not_found"),
    ];
    for (method, path, body, status, code) in cases {
        let mut req = h
            .http
            .request(method.clone(), format!("{}{path}", h.base))
            .bearer_auth(h.server.secret_key());
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let res = req.send().await.unwrap();
        let got = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = res.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {content_type} {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], code, "{method} {path}: {v}");
        assert!(
            !v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{method} {path}: a message says what is wrong: {v}"
        );
    }
    // Nothing was created from the array.
    let r = h.backend(Method::GET, "/integrations/arr-key", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn the_outbox_honours_retry_after_keeps_dead_letters_and_resends_them() {
    let (h, receiver) = with_receiver().await;
    // 429 with Retry-After: 1 → retried after about a second (not the schedule's 5 s).
    receiver.answer(429, Some(1));
    let created = h
        .backend(
            Method::POST,
            "/connections",
            Some(
                json!({"provider_config_key": "key-only", "connection_id": "c-429",
                        "credentials": {"type": "API_KEY", "apiKey": "k"}}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    receiver.answer(200, None);
    receiver.wait_for(2, Duration::from_secs(10)).await;
    {
        let seen = receiver.seen.lock().unwrap();
        let gap = seen[1].0 - seen[0].0;
        assert!(
            gap >= Duration::from_millis(900) && gap < Duration::from_secs(4),
            "Retry-After: 1 honoured: {gap:?}"
        );
        assert_eq!(seen[0].1, seen[1].1, "same webhook id");
    }

    // A 400 is the receiver's final answer: a dead letter after one attempt, listed as failed.
    receiver.answer(400, None);
    let r = h
        .backend(
            Method::POST,
            "/connections",
            Some(
                json!({"provider_config_key": "key-only", "connection_id": "c-400",
                        "credentials": {"type": "API_KEY", "apiKey": "k"}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201);
    receiver.wait_for(3, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let r = h
            .backend(Method::GET, "/environment/webhooks?status=failed", None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if let Some(w) = r.body["data"].as_array().and_then(|a| a.first()) {
            break w.clone();
        }
        assert!(Instant::now() < deadline, "no dead letter listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["last_error"], "HTTP 400");
    assert_eq!(failed["payload"]["connectionId"], "c-400");
    let id = failed["id"].as_str().unwrap().to_string();
    assert!(
        failed["next_attempt_at"].is_null(),
        "not scheduled: {failed}"
    );
    assert_eq!(
        h.settled_webhooks().await.len(),
        2,
        "c-429 delivered, c-400 given up"
    );
    assert_eq!(
        receiver.count(),
        3,
        "a dead letter is not retried by itself"
    );

    // Re-sent on request, it is delivered; re-sending what is not a dead letter is a 404.
    receiver.answer(200, None);
    let r = h
        .backend(
            Method::POST,
            &format!("/environment/webhooks/{id}/resend"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "pending");
    receiver.wait_for(4, Duration::from_secs(10)).await;
    assert_eq!(receiver.seen.lock().unwrap()[3].1, id);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = h
            .backend(Method::GET, "/environment/webhooks?status=delivered", None)
            .await;
        if r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == id.as_str())
        {
            break;
        }
        assert!(Instant::now() < deadline, "re-sent webhook not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = h
        .backend(
            Method::POST,
            &format!("/environment/webhooks/{id}/resend"),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "not_found");
}

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
