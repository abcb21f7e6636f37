//! `/proxy/*` edges a client library does not show: the outbound guard (private addresses refused
//! unless the deployment allows them, `Base-Url-Override` included), redirects passed on instead of
//! followed, and bodies streamed both ways within the configured limits — a large upload is sent once,
//! never retried, since it cannot be replayed. The provider is a loopback axum server counting hits.

mod common;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
struct Upstream {
    hits: Arc<AtomicUsize>,
    uploaded: Arc<AtomicUsize>,
}

impl Upstream {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn count(State(u): State<Upstream>) -> &'static str {
    u.hits.fetch_add(1, Ordering::SeqCst);
    "ok"
}

async fn redirect(State(u): State<Upstream>) -> Response {
    u.hits.fetch_add(1, Ordering::SeqCst);
    (StatusCode::FOUND, [(header::LOCATION, "/api/ok")]).into_response()
}

async fn big_declared() -> Vec<u8> {
    vec![b'x'; 5000]
}

async fn big_chunked() -> Body {
    Body::from_stream(
        futures_util::stream::iter(0..5)
            .map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; 1000]))),
    )
}

/// Reads the whole upload as a stream, then answers 503 (retryable for a PUT).
async fn upload(State(u): State<Upstream>, body: Body) -> Response {
    u.hits.fetch_add(1, Ordering::SeqCst);
    let mut n = 0;
    let mut data = body.into_data_stream();
    while let Some(chunk) = data.next().await {
        n += chunk.map(|c| c.len()).unwrap_or(0);
    }
    u.uploaded.store(n, Ordering::SeqCst);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({ "bytes": n })),
    )
        .into_response()
}

async fn upstream() -> (Upstream, String) {
    let state = Upstream::default();
    let router = Router::new()
        .route("/api/ok", get(count))
        .route("/api/redirect", get(redirect))
        .route("/api/big-declared", get(big_declared))
        .route("/api/big-chunked", get(big_chunked))
        .route("/api/upload", put(upload))
        .with_state(state.clone());
    (state, common::serve(router).await)
}

fn catalog(base: &str) -> String {
    format!(
        "proxy-test:\n    display_name: Proxy test\n    auth_mode: API_KEY\n    proxy:\n        base_url: {base}/api\n        headers:\n            x-api-key: ${{apiKey}}\n"
    )
}

async fn connect(h: &common::Harness) {
    h.create_integration("pt", "proxy-test", None).await;
    let r = h
        .backend(
            reqwest::Method::POST,
            "/connections",
            Some(json!({"provider_config_key": "pt", "connection_id": "c1",
                        "credentials": {"type": "API_KEY", "apiKey": "k-1"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn proxy(h: &common::Harness, method: reqwest::Method, endpoint: &str) -> reqwest::RequestBuilder {
    h.http
        .request(method, format!("{}/proxy{endpoint}", h.base))
        .header("authorization", h.secret())
        .header("connection-id", "c1")
        .header("provider-config-key", "pt")
}

async fn error_code(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn private_hosts_are_refused_unless_allowed_even_through_base_url_override() {
    let (up, base) = upstream().await;
    let h =
        common::harness_configured(Some(&catalog(&base)), |c| c.allow_private_providers = false)
            .await;
    connect(&h).await;

    let res = proxy(&h, reqwest::Method::GET, "/ok").send().await.unwrap();
    assert_eq!(error_code(res).await, (502, "upstream_unreachable".into()));
    for override_url in [base.clone(), base.replace("127.0.0.1", "localhost")] {
        let res = proxy(&h, reqwest::Method::GET, "/ok")
            .header("base-url-override", &override_url)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res).await,
            (400, "base_url_override_not_allowed".into()),
            "{override_url}"
        );
    }
    assert_eq!(up.hits(), 0, "nothing reached the private address");
}

#[tokio::test]
async fn redirects_reach_the_caller_instead_of_being_followed() {
    let (up, base) = upstream().await;
    let h = common::harness(Some(&catalog(&base))).await;
    connect(&h).await;
    let res = proxy(&h, reqwest::Method::GET, "/redirect")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/api/ok");
    assert_eq!(up.hits(), 1, "the redirect target was not requested");
}

#[tokio::test]
async fn bodies_stream_both_ways_within_the_limits_and_large_uploads_are_not_retried() {
    let (up, base) = upstream().await;
    let h = common::harness_configured(Some(&catalog(&base)), |c| {
        c.proxy.max_response_bytes = 4096;
        c.proxy.max_request_bytes = 8 << 20;
    })
    .await;
    connect(&h).await;

    // Responses over the limit: refused when declared, cut when not.
    let res = proxy(&h, reqwest::Method::GET, "/big-declared")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (502, "response_too_large".into()));
    let res = proxy(&h, reqwest::Method::GET, "/big-chunked")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "headers were already on their way");
    assert!(res.bytes().await.is_err(), "the body is cut at the limit");

    // A 3 MiB upload (over the REST API's 256 KiB and the 1 MiB replay buffer) arrives whole, once,
    // though a PUT answered 503 with Retries: 3 would otherwise be retried.
    let big = vec![b'z'; 3 << 20];
    let res = proxy(&h, reqwest::Method::PUT, "/upload")
        .header("retries", "3")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "the provider's answer");
    assert_eq!(up.uploaded.load(Ordering::SeqCst), big.len());
    assert_eq!(up.hits(), 1, "a streamed body is never sent twice");

    // A small one is replayable: the same 503 is retried.
    let res = proxy(&h, reqwest::Method::PUT, "/upload")
        .header("retries", "1")
        .body(vec![b'a'; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(up.hits(), 3, "first attempt and one retry");
    assert_eq!(
        up.uploaded.load(Ordering::SeqCst),
        1000,
        "the retry carried the body"
    );

    // Over the request limit, by its declared length: refused before anything is sent.
    let res = proxy(&h, reqwest::Method::PUT, "/upload")
        .body(vec![b'b'; 9 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (413, "payload_too_large".into()));
    assert_eq!(up.hits(), 3);
}
