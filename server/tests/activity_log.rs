//! The activity log (issue 17) over the real server: `GET /logs` filters and cursor pagination,
//! `GET /logs/{id}` with its steps, the retention sweep, the live tail (`GET /logs/stream`) across two
//! servers sharing one database, and a refused OAuth attempt at the local OAuth server whose failing
//! step carries the provider's error text; a live tail ends when its server stops. Runs on SQLite
//! and, with `LATCHKEY_TEST_POSTGRES`, on PostgreSQL. Entries are written in the background: every
//! check polls to a deadline.

mod common;

use common::{harness, harness_configured, Harness, Reserved};
use futures_util::StreamExt;
use latchkey_test_peers::headless::HeadlessUser;
use latchkey_test_peers::local_oidc_provider_yaml;
use latchkey_test_peers::oidc::{OidcOptions, OidcProvider};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(15);

/// `GET path` with the secret key, polled until `done` holds for the body (or the deadline).
async fn poll(h: &Harness, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let r = h.backend(Method::GET, path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        if done(&r.body) {
            return r.body;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{path} never matched: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(body: &Value) -> usize {
    body["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn filters_and_cursor_pages_find_each_entry_once() {
    let h = harness(None).await;
    for i in 0..5 {
        h.session(json!({"end_user": {"id": format!("user-{i}")}}))
            .await;
    }
    // A refused settings change: a failure of another type.
    let r = h
        .backend(
            Method::PATCH,
            "/environment/settings",
            Some(json!({"callback_url": "not a url"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    poll(&h, "/logs?limit=500", |b| count(b) == 6).await;

    // Pages of two, newest first, each entry once.
    let mut seen = Vec::new();
    let mut path = "/logs?type=connect_session&limit=2".to_string();
    loop {
        let r = h.backend(Method::GET, &path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for e in r.body["data"].as_array().unwrap() {
            assert_eq!(e["type"], "connect_session");
            assert_eq!(e["outcome"], "success");
            assert_eq!(e["environment"], "dev");
            seen.push(e["end_user_id"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/logs?type=connect_session&limit=2&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..5).rev().map(|i| format!("user-{i}")).collect();
    assert_eq!(seen, expected);

    let one = h
        .backend(Method::GET, "/logs?end_user_id=user-3", None)
        .await;
    assert_eq!(count(&one.body), 1, "{}", one.body);
    let failed = h.backend(Method::GET, "/logs?outcome=failure", None).await;
    assert_eq!(count(&failed.body), 1, "{}", failed.body);
    let entry = &failed.body["data"][0];
    assert_eq!(entry["type"], "settings");
    assert!(entry["duration_ms"].as_i64().is_some(), "{entry}");

    // Its steps: the fields asked for (never their values) and why it was refused.
    let id = entry["id"].as_str().unwrap();
    let detail = h.backend(Method::GET, &format!("/logs/{id}"), None).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let steps = detail.body["data"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["detail"]["fields"], json!(["callback_url"]));
    assert_eq!(steps.last().unwrap()["level"], "error");

    // Time range: nothing started before 2000, everything after.
    let old = h
        .backend(Method::GET, "/logs?to=2000-01-01T00:00:00Z", None)
        .await;
    assert_eq!(count(&old.body), 0, "{}", old.body);
    let recent = h
        .backend(
            Method::GET,
            "/logs?from=2000-01-01T00:00:00Z&limit=500",
            None,
        )
        .await;
    assert_eq!(count(&recent.body), 6, "{}", recent.body);

    // Refusals in the error envelope.
    for (path, status, code) in [
        ("/logs?type=nonsense", 400, "invalid_query_params"),
        ("/logs?cursor=42", 400, "invalid_query_params"),
        ("/logs?from=yesterday", 400, "invalid_query_params"),
        ("/logs?limit=0", 400, "invalid_query_params"),
        ("/logs/no-such-entry", 404, "not_found"),
    ] {
        let r = h.backend(Method::GET, path, None).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{path}: {}", r.body);
    }
    let anonymous = h.call(Method::GET, "/logs", None, None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert!(anonymous.body["error"]["code"].is_string());
}

#[tokio::test]
async fn entries_past_the_retention_period_are_swept_in_the_background() {
    let clock = latchkey_server::time::Clock::adjustable();
    let h = harness_configured(None, |c| {
        c.activity.sweep_every = Duration::from_millis(200);
        c.clock = clock.clone();
    })
    .await;
    h.session(json!({"end_user": {"id": "old"}})).await;
    poll(&h, "/logs", |b| count(b) == 1).await;
    // Fifteen days later: past the default retention of fourteen.
    clock.advance(Duration::from_secs(15 * 24 * 3600));
    h.session(json!({"end_user": {"id": "new"}})).await;
    let kept = poll(&h, "/logs", |b| {
        count(b) == 1 && b["data"][0]["end_user_id"] == "new"
    })
    .await;
    assert_eq!(kept["data"][0]["type"], "connect_session");
    assert_eq!(
        h.sql_i64("SELECT COUNT(*) FROM activity_steps WHERE entry_id NOT IN (SELECT id FROM activity_log)")
            .await,
        0,
        "the old entry's steps went with it"
    );
}

/// Opens the live tail (`GET /logs/stream` with `query`) of `h`'s server.
async fn open_tail(h: &Harness, query: &str) -> reqwest::Response {
    let res = h
        .http
        .get(format!("{}/logs/stream{query}", h.base))
        .header("authorization", h.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res
}

/// Reads `entry` events from an SSE response until one satisfies `want`.
async fn next_entry(res: reqwest::Response, want: impl Fn(&Value) -> bool) -> Value {
    let mut stream = res.bytes_stream();
    let mut buffer = String::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if !event.lines().any(|l| l == "event: entry") {
                    continue;
                }
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                let entry: Value = serde_json::from_str(&data).unwrap();
                if want(&entry) {
                    return entry;
                }
            }
        }
        panic!("the stream ended");
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("no matching entry on the stream")
}

#[tokio::test]
async fn the_live_tail_of_one_server_shows_what_another_writes_to_the_shared_database() {
    const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let a = harness_configured(None, |c| c.encryption_key = Some(KEY.into())).await;
    let shared = a.database_url.clone();
    let b = harness_configured(None, move |c| {
        c.encryption_key = Some(KEY.into());
        c.database_url = shared;
    })
    .await;
    a.session(json!({"end_user": {"id": "before"}})).await;
    poll(&a, "/logs", |body| count(body) == 1).await;

    let res = open_tail(&b, "?type=connect_session").await;
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    // Only what is new: the entry written before the stream opened is not replayed.
    a.session(json!({"end_user": {"id": "after"}})).await;
    let entry = next_entry(res, |e| e["end_user_id"] != "before").await;
    assert_eq!(entry["end_user_id"], "after");
    assert_eq!(entry["type"], "connect_session");
    assert_eq!(entry["steps"][0]["message"], "Connect session created");

    let refused = b
        .call(
            Method::GET,
            "/logs/stream?outcome=maybe",
            Some(&b.secret()),
            None,
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"]["code"], "invalid_query_params");
}

/// A live tail ends when its server stops, so that a stop (SIGTERM to `latchkey serve`) is not held
/// up by a dashboard left open on the live log.
#[tokio::test]
async fn a_live_tail_ends_when_the_server_stops() {
    let h = harness(None).await;
    let mut tail = open_tail(&h, "").await.bytes_stream();
    tokio::time::timeout(Duration::from_secs(10), h.server.stop())
        .await
        .expect("the server stops with a live tail open");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = tail.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the tail's stream ended");
}

#[tokio::test]
async fn a_refused_oauth_attempt_shows_the_failing_step_with_the_providers_error() {
    let reserved = Reserved::bind().await;
    let oidc = OidcProvider::start(OidcOptions::new(reserved.callback_url()))
        .await
        .unwrap();
    let h = reserved
        .start(Some(&local_oidc_provider_yaml(oidc.issuer())), |_| {})
        .await;
    h.create_integration(
        "local-oidc",
        "local-oidc",
        Some(json!({"type": "OAUTH2", "client_id": oidc.client_id(),
                    "client_secret": oidc.client_secret()})),
    )
    .await;
    let token = h.session(json!({"end_user": {"id": "u-denied"}})).await;
    let mut start = reqwest::Url::parse(&format!("{}/oauth/connect/local-oidc", h.base)).unwrap();
    start
        .query_pairs_mut()
        .append_pair("connect_session_token", &token)
        // The local provider answers `error=access_denied` to this hint, as a user's "Cancel" would.
        .append_pair("authorization_params[login_hint]", "deny");
    let end = HeadlessUser::new()
        .unwrap()
        .authorize(start.as_str(), "alice")
        .await
        .unwrap();
    assert_eq!(end.url.path(), "/oauth/callback");

    // The attempt, found by the operator through the filters, then opened.
    let get = |path: String| {
        let h = &h;
        async move { h.backend(Method::GET, &path, None).await.body }
    };
    let started = Instant::now();
    let entry = loop {
        let page = get("/logs?type=oauth&outcome=failure&integration=local-oidc".into()).await;
        if let Some(e) = page["data"].as_array().and_then(|d| d.first()) {
            break e.clone();
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no failed OAuth entry: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(entry["end_user_id"], "u-denied");
    assert!(entry["connection_id"].is_string(), "{entry}");
    let id = entry["id"].as_str().unwrap();
    let detail = get(format!("/logs/{id}")).await;
    let steps = detail["data"]["steps"].as_array().unwrap().clone();
    let messages: Vec<&str> = steps
        .iter()
        .map(|s| s["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        &messages[..3],
        &[
            "OAuth flow started",
            "Redirecting the user to the provider's authorization page",
            "Callback received from the provider",
        ],
        "{steps:?}"
    );
    let failing = steps
        .iter()
        .find(|s| s["level"] == "error")
        .expect("a failing step");
    assert_eq!(failing["detail"]["error"], "access_denied", "{failing}");
    assert!(
        failing["message"]
            .as_str()
            .unwrap()
            .contains("access_denied"),
        "{failing}"
    );
    assert!(
        failing["detail"]["error_description"].is_string(),
        "the provider's description is kept: {failing}"
    );
    // The redirect step shows where the user went, without the query (state, PKCE challenge).
    let redirect = &steps[1]["detail"]["authorization_url"];
    assert_eq!(redirect, &json!(format!("{}/auth", oidc.issuer())));
}
