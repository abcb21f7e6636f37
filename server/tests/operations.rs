//! (Over 600 lines: `cargo xtask image` runs this target alone as the static binary's smoke test.)
//!
//! What an operator runs and scrapes: the `latchkey` binary alone in an empty directory serves the API,
//! the embedded Connect UI and SDK (precompressed, by content negotiation), `/health`, `/ready` and
//! `/metrics`; the metrics move when real flows happen; `/metrics` honours its token; `latchkey doctor`
//! names what is wrong and exits non-zero.

use axum::routing::post;
use axum::Json;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary under test: this build's, or `LATCHKEY_TEST_BIN` (`cargo xtask image` points it at the
/// static musl release binary).
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("LATCHKEY_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_latchkey").into())
});

/// The binary as a child process, killed on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `latchkey serve` in `dir` with only `env` (no inherited variables: nothing from this checkout),
/// on a free loopback port; returns the process and its base URL.
fn serve_in(dir: &std::path::Path, env: &[(&str, &str)]) -> (Process, String) {
    let mut child = Command::new(&*BIN)
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        // The only variable kept: the per-user data dir lands inside the empty directory.
        .env("HOME", dir)
        .env("LATCHKEY_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the latchkey binary starts");
    let stdout = child.stdout.take().unwrap();
    let process = Process(child);
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("Latchkey listening on ") {
            break addr.trim().to_string();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (process, base)
}

fn client() -> reqwest::Client {
    // No automatic decompression: the test looks at the bytes and headers as sent.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_binary_alone_in_an_empty_directory_serves_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve_in(dir.path(), &[]);
    let http = client();

    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = http
        .get(format!("{base}/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["database"], "sqlite");
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains(r#"latchkey_http_requests_total{method="GET",route="/health",status="200"} 1"#));
    // The database and dev key file were created in the empty directory, nothing else was needed.
    assert!(dir
        .path()
        .join(".local/share/latchkey/latchkey.db")
        .exists());

    let connect = latchkey_server::http::embedded::Bundle::connect_ui();
    let sdk = latchkey_server::http::embedded::Bundle::sdk();
    if connect.is_none() || sdk.is_none() {
        // A checkout where `cargo xtask build` has not run: the routes say so with the API's 404.
        eprintln!("SKIPPED the asset checks: this build embeds no Connect UI/SDK (run `cargo xtask build` first)");
        let res = http
            .get(format!("{base}/sdk/index.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        return;
    }

    // The Connect UI's index at `/connect/`, as HTML, with the Connect UI's headers.
    let res = http
        .get(format!("{base}/connect/?apiURL=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors *"));
    let index = res.text().await.unwrap();
    assert!(index.contains("<html") || index.contains("<!doctype") || index.contains("<!DOCTYPE"));
    // Its content-hashed files are kept for a year by browsers.
    let hashed = connect
        .unwrap()
        .files()
        .find(|a| a.path.starts_with("assets/") && a.path.ends_with(".wasm"))
        .expect("the Connect UI's wasm under assets/ (cargo xtask build names it by content)")
        .path;
    let res = http
        .get(format!("{base}/connect/{hashed}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );

    // The dashboard, when this build embeds it: its sign-in page at `/dashboard/`, as HTML.
    if latchkey_server::http::embedded::Bundle::dashboard().is_some() {
        let res = http.get(format!("{base}/dashboard/")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = res.text().await.unwrap();
        assert!(page.contains("<html") || page.contains("<!doctype") || page.contains("<!DOCTYPE"));
    }

    // The SDK: brotli, gzip or plain by Accept-Encoding; same bytes once decoded; CDN headers.
    let plain = http
        .get(format!("{base}/sdk/index.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        plain.headers()["cross-origin-resource-policy"],
        "cross-origin"
    );
    assert!(plain.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let etag = plain.headers()["etag"].clone();
    let plain = plain.bytes().await.unwrap();
    let on_disk = latchkey_server::http::embedded::Bundle::sdk()
        .unwrap()
        .files()
        .find(|a| a.path == "index.js")
        .unwrap()
        .identity;
    assert_eq!(&plain[..], on_disk);

    let wasm = sdk
        .unwrap()
        .files()
        .find(|a| a.path.ends_with(".wasm"))
        .unwrap()
        .path;
    for (accept, encoding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let res = http
            .get(format!("{base}/sdk/{wasm}"))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{accept}");
        assert_eq!(res.headers()["content-encoding"], encoding, "{accept}");
        assert_eq!(res.headers()["vary"], "accept-encoding");
        assert_eq!(res.headers()["content-type"], "application/wasm");
        let packed = res.bytes().await.unwrap();
        let decoded = match encoding {
            "br" => {
                let mut out = Vec::new();
                brotli_decompress(&packed, &mut out);
                out
            }
            _ => {
                use std::io::Read as _;
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&packed[..])
                    .read_to_end(&mut out)
                    .unwrap();
                out
            }
        };
        let identity = http
            .get(format!("{base}/sdk/{wasm}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(packed.len() < identity.len(), "{encoding} is smaller");
        assert_eq!(decoded, identity, "{encoding} decodes to the file");
    }
    // Revalidation: the ETag answers 304.
    let res = http
        .get(format!("{base}/sdk/index.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    // A file that is not there gets the API's error envelope.
    let res = http
        .get(format!("{base}/sdk/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    // Static files are counted per folder, never per file name.
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(r#"route="/sdk/*",status="200""#), "{text}");
    assert!(!text.contains("index.js"), "{text}");
}

fn brotli_decompress(packed: &[u8], out: &mut Vec<u8>) {
    use std::io::Read as _;
    brotli_decompressor::Decompressor::new(packed, 4096)
        .read_to_end(out)
        .unwrap();
}

/// Scrapes `/metrics` and returns the value of the series whose line starts with `series`.
async fn metric(http: &reqwest::Client, base: &str, series: &str) -> f64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_move_with_real_flows() {
    // A provider stand-in: its token endpoint renews tokens; the webhook receiver accepts.
    let stub = axum::Router::new()
        .route(
            "/token",
            post(|| async {
                Json(json!({"access_token": "renewed", "token_type": "bearer", "expires_in": 3600}))
            }),
        )
        .route("/hooks", post(|| async { "ok" }));
    let stub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stub_base = format!(
        "http://127.0.0.1:{}",
        stub_listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(stub_listener, stub).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("providers.yaml");
    std::fs::write(
        &catalog,
        format!(
            "metric-key:\n    display_name: Metric key\n    auth_mode: API_KEY\n\
             metric-oauth:\n    display_name: Metric OAuth\n    auth_mode: OAUTH2\n    authorization_url: {stub_base}/authorize\n    token_url: {stub_base}/token\n"
        ),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = latchkey_server::Config::for_tests(dir.path(), &base);
    config.providers_file = Some(catalog);
    config.webhook_url = Some(format!("{stub_base}/hooks"));
    let server = latchkey_server::start(config, listener).await.unwrap();
    let secret = server.secret_key().to_string();
    let http = client();

    let delivered = r#"latchkey_webhook_deliveries_total{outcome="delivered"}"#;
    let before_hooks = metric(&http, &base, delivered).await;
    let state_errors = r#"latchkey_oauth_attempts_total{outcome="state_err"}"#;
    let before_oauth = metric(&http, &base, state_errors).await;
    let refreshed = r#"latchkey_token_refreshes_total{outcome="success"}"#;
    let before_refresh = metric(&http, &base, refreshed).await;

    // An API-key connection through a connect session: a connection, and a `creation` webhook.
    for (key, provider, credentials) in [
        ("metric-key", "metric-key", Value::Null),
        (
            "metric-oauth",
            "metric-oauth",
            json!({"type": "OAUTH2", "client_id": "id", "client_secret": "secret"}),
        ),
    ] {
        let mut body = json!({"provider": provider, "unique_key": key});
        if !credentials.is_null() {
            body["credentials"] = credentials;
        }
        let res = http
            .post(format!("{base}/integrations"))
            .bearer_auth(&secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    let session: Value = http
        .post(format!("{base}/connect/sessions"))
        .bearer_auth(&secret)
        .json(&json!({"end_user": {"id": "u1"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["data"]["token"].as_str().unwrap();
    let res = http
        .post(format!(
            "{base}/api-auth/api-key/metric-key?connect_session_token={token}"
        ))
        .json(&json!({"apiKey": "sk-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // An imported OAuth2 connection, refreshed on demand against the stub's token endpoint.
    let res = http
        .post(format!("{base}/connections"))
        .bearer_auth(&secret)
        .json(&json!({
            "connection_id": "imported-conn-1",
            "provider_config_key": "metric-oauth",
            "credentials": {"type": "OAUTH2", "access_token": "old", "refresh_token": "r1"}
        }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let res = http
        .get(format!(
            "{base}/connection/imported-conn-1?provider_config_key=metric-oauth&force_refresh=true"
        ))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // An OAuth callback with a state nobody issued.
    let res = http
        .get(format!("{base}/oauth/callback?state=forged&code=x"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());

    // The webhook worker delivers within a few seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metric(&http, &base, delivered).await < before_hooks + 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no webhook delivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metric(&http, &base, state_errors).await >= before_oauth + 1.0,
        "{text}"
    );
    assert!(
        metric(&http, &base, refreshed).await >= before_refresh + 1.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &http,
            &base,
            r#"latchkey_connections{integration="metric-key"}"#
        )
        .await,
        1.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &http,
            &base,
            r#"latchkey_connections{integration="metric-oauth"}"#
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(&http, &base, "latchkey_webhook_outbox_depth").await,
        0.0
    );
    // Requests are counted by route template (never by raw id) with a latency histogram.
    assert!(
        metric(
            &http,
            &base,
            r#"latchkey_http_requests_total{method="GET",route="/connection/{id}",status="200"}"#
        )
        .await
            >= 1.0,
        "{text}"
    );
    let leaked: Vec<_> = text
        .lines()
        .filter(|l| l.contains("imported-conn-1"))
        .collect();
    assert!(leaked.is_empty(), "no connection id in labels: {leaked:?}");
    assert!(text.contains(
        r#"latchkey_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/connections"}"#
    ) || text.contains(r#"latchkey_http_request_duration_seconds_count{method="POST",route="/connections"}"#), "{text}");
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set_and_rejections_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = serve_in(
        dir.path(),
        &[
            ("LATCHKEY_METRICS_TOKEN", "scrape-me-please"),
            ("LATCHKEY_RATE_LIMIT_PER_MINUTE", "2"),
        ],
    );
    let http = client();
    let res = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("LATCHKEY_METRICS_TOKEN"));
    let res = http
        .get(format!("{base}/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Over the rate limit (2 a minute) on the REST API.
    for _ in 0..4 {
        http.get(format!("{base}/integrations"))
            .bearer_auth("not-a-key")
            .send()
            .await
            .unwrap();
    }
    let text = http
        .get(format!("{base}/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rejected = text
        .lines()
        .find(|l| l.starts_with("latchkey_rate_limit_rejections_total"))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse::<f64>().unwrap())
        .unwrap();
    assert_eq!(rejected, 2.0, "{text}");
}

#[test]
fn doctor_says_what_is_wrong_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&*BIN)
        .arg("doctor")
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("LATCHKEY_ENCRYPTION_KEY", "too-short")
        .env("LATCHKEY_PUBLIC_URL", "http://auth.example.com")
        .env("LATCHKEY_ADDR", "0.0.0.0:3003")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL  encryption key"), "{text}");
    assert!(text.contains("openssl rand -base64 32"), "{text}");
    assert!(text.contains("warn  public URL"), "{text}");
    assert!(text.contains("does not exist yet"), "{text}");
    assert!(
        !dir.path().join(".local").exists(),
        "doctor creates nothing"
    );

    // A sound production configuration passes.
    let out = Command::new(&*BIN)
        .arg("doctor")
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env(
            "LATCHKEY_ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env("LATCHKEY_PUBLIC_URL", "https://auth.example.com")
        .env("LATCHKEY_ADDR", "0.0.0.0:3003")
        .env("LATCHKEY_CONNECT_UI_DIR", dir.path())
        .env("LATCHKEY_SDK_DIR", dir.path())
        .env("LATCHKEY_DASHBOARD_DIR", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("no problems found"), "{text}");

    // Once the database exists, it says whether anyone can sign in to the dashboard.
    let latchkey = |args: &[&str]| {
        Command::new(&*BIN)
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .env("HOME", dir.path())
            .env("LATCHKEY_ADMIN_PASSWORD", "correct horse battery staple")
            .output()
            .unwrap()
    };
    let created = latchkey(&["admin", "create", "ops@example.com"]);
    assert!(created.status.success(), "{created:?}");
    let text = String::from_utf8_lossy(&latchkey(&["doctor"]).stdout).to_string();
    assert!(
        text.contains("ok    dashboard        1 administrator(s)"),
        "{text}"
    );
}

#[test]
fn version_names_the_commit_and_completions_are_generated() {
    let out = Command::new(&*BIN).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.starts_with(&format!("latchkey {} (git ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let out = Command::new(&*BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("_latchkey()") && text.contains("doctor"),
        "{text}"
    );
}

#[tokio::test]
async fn json_logs_and_the_health_command() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(&*BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        .env("LATCHKEY_ADDR", "127.0.0.1:0")
        .env("LATCHKEY_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let _guard = Process(child);
    let mut out_lines = stdout.lines();
    let base = out_lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("Latchkey listening on ").map(str::to_string))
        .unwrap();
    // The dev key file warning is the first log line: one JSON object.
    let mut err_lines = stderr.lines();
    let line = err_lines.next().unwrap().unwrap();
    // Keep both pipes open and drained: a closed stdout would make the server's next print fail.
    std::thread::spawn(move || out_lines.for_each(drop));
    std::thread::spawn(move || err_lines.for_each(drop));
    let log: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(log["level"], "WARN", "{line}");
    assert!(log["fields"]["message"].as_str().is_some(), "{line}");

    let ok = Command::new(&*BIN)
        .args(["health", "--url", &base])
        .env_clear()
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = Command::new(&*BIN)
        .arg("health")
        .env_clear()
        .env("LATCHKEY_ADDR", format!("0.0.0.0:{port}"))
        .output()
        .unwrap();
    assert!(!down.status.success(), "nothing listens there");
}
