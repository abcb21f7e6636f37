//! Auth webhooks are durable: retried after a network error (5 s, Standard Webhooks' first step) and
//! after a 5xx (when the receiver's `Retry-After` says), and a webhook
//! queued just before the server process is killed with SIGKILL is delivered — once — by the next
//! process on the same database.

mod common;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests received: arrival time, headers, body.
type Seen = Arc<Mutex<Vec<(Instant, HeaderMap, String)>>>;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the customer's endpoint on `port`; it answers `failures` 503s (`Retry-After: 6`), then 200s.
async fn receiver_on(port: u16, failures: usize) -> Seen {
    let seen: Seen = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push((Instant::now(), headers, body));
                if log.len() <= failures {
                    (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "6")])
                } else {
                    (StatusCode::OK, [("retry-after", "0")])
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    seen
}

/// A catalog overlay with an API-key provider that declares no verification request (so creating a
/// connection needs no network).
const CATALOG: &str = "hook-test:\n    display_name: Hook test\n    auth_mode: API_KEY\n";

fn write_catalog(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("providers.yaml");
    std::fs::write(&path, CATALOG).unwrap();
    path
}

/// Creates an API-key connection, which queues a `creation` auth webhook; returns its connection id.
async fn create_connection(base: &str, secret_key: &str) -> String {
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/integrations"))
        .bearer_auth(secret_key)
        .json(&json!({"provider": "hook-test", "unique_key": "hook-test"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let session: Value = http
        .post(format!("{base}/connect/sessions"))
        .bearer_auth(secret_key)
        .json(&json!({"end_user": {"id": "u1"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["data"]["token"].as_str().unwrap();
    let created: Value = http
        .post(format!(
            "{base}/api-auth/api-key/hook-test?connect_session_token={token}"
        ))
        .json(&json!({"apiKey": "sk-test-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["connectionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no connectionId: {created}"))
        .to_string()
}

async fn wait_for(seen: &Seen, count: usize, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while seen.lock().unwrap().len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} deliveries within {limit:?}",
            seen.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_webhook_is_retried_after_a_network_error_and_a_503_with_retry_after() {
    let hook_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = latchkey_server::Config::for_tests(dir.path(), &base);
    config.webhook_url = Some(format!("http://127.0.0.1:{hook_port}/hooks"));
    config.providers_file = Some(write_catalog(dir.path()));
    let server = latchkey_server::start(config, listener).await.unwrap();

    // Nothing listens yet: the first attempt is a network error (connection refused).
    let id = create_connection(&base, server.secret_key()).await;
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = latchkey_test_peers::outbox::list(&http, &base, server.secret_key())
            .await
            .unwrap();
        if list["data"][0]["attempts"].as_i64() >= Some(1) {
            assert!(list["data"][0]["last_error"].is_string(), "{list}");
            break;
        }
        assert!(Instant::now() < deadline, "no first attempt: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Then the endpoint is up but failing once (503), then healthy.
    let seen = receiver_on(hook_port, 1).await;
    wait_for(&seen, 2, Duration::from_secs(30)).await;
    let listed = latchkey_test_peers::outbox::settled(&http, &base, server.secret_key())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "delivered");
    assert_eq!(listed[0]["attempts"], 3, "refused, 503, delivered");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "503 then delivered; nothing after success");
    let gap = seen[1].0 - seen[0].0;
    assert!(
        gap >= Duration::from_secs(6),
        "the retry after the 503 waits what its Retry-After says: {gap:?}"
    );
    assert_eq!(seen[0].2, seen[1].2, "same body");
    assert_eq!(
        seen[0].1["webhook-id"], seen[1].1["webhook-id"],
        "same message id"
    );
    let payload: Value = serde_json::from_str(&seen[1].2).unwrap();
    assert_eq!(payload["connectionId"], id.as_str());
    assert_eq!(payload["operation"], "creation");
}

/// The real `latchkey serve` binary as a child process.
struct ServerProcess {
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts `latchkey serve` on `port` with its data in `dir`; returns it and, on first start, the
    /// secret key it printed.
    fn spawn(port: u16, dir: &std::path::Path, webhook_url: &str) -> (Self, Option<String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LATCHKEY_ADDR", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_PUBLIC_URL", format!("http://localhost:{port}"))
            .env("LATCHKEY_DATA_DIR", dir)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("latchkey.db").display()),
            )
            .env("LATCHKEY_WEBHOOK_URL", webhook_url)
            .env("LATCHKEY_PROVIDERS_FILE", write_catalog(dir))
            .env("LATCHKEY_ALLOW_PRIVATE_NETWORK", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("latchkey binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut key = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(k) = line.split("Secret key (keep it server-side): ").nth(1) {
                    key = Some(k.trim().to_string());
                }
                if line.contains("Secret key") {
                    let _ = tx.send(key.take());
                }
            }
        });
        let key = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server printed its start-up banner");
        (Self { child }, key)
    }

    /// SIGKILL: no shutdown code runs.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_webhook_queued_before_kill_9_is_delivered_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hook_port = free_port();
    let hook_url = format!("http://127.0.0.1:{hook_port}/hooks");
    let base = format!("http://localhost:{port}");

    let (first, key) = ServerProcess::spawn(port, dir.path(), &hook_url);
    let key = key.expect("a new dev environment prints its secret key");
    // The receiver is down: the webhook is queued and cannot be delivered before the kill.
    let id = create_connection(&base, &key).await;
    first.kill_9();

    let seen = receiver_on(hook_port, 0).await;
    let (_second, _) = ServerProcess::spawn(port, dir.path(), &hook_url);
    // Within the first retry delay (5 s), or the claim lease (30 s) if the kill hit mid-delivery.
    wait_for(&seen, 1, Duration::from_secs(90)).await;
    let listed = latchkey_test_peers::outbox::settled(&reqwest::Client::new(), &base, &key)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let seen = seen.lock().unwrap().clone();
    println!(
        "measured: webhook queued before kill -9 delivered {} time(s) after restart",
        seen.len()
    );
    assert_eq!(seen.len(), 1, "delivered exactly once");
    let payload: Value = serde_json::from_str(&seen[0].2).unwrap();
    assert_eq!(payload["connectionId"], id.as_str());
    assert_eq!(payload["operation"], "creation");
    assert_eq!(payload["success"], true);
}
