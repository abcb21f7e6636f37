//! `cargo xtask bench`'s proxy figures, in one run against one local upstream (an axum server on
//! loopback, in this process):
//! - overhead: requests per second of `GET /proxy/ping` (secret-key auth, connection read and AES-GCM
//!   open, credential injection, the upstream call, the answer streamed back, the activity log entry)
//!   against the same upstream endpoint called directly, and their ratio. Beside it, the peer that
//!   shows what that ratio can be here: a bare pass-through proxy (the same axum, tokio and reqwest,
//!   nothing but the two exchanges). A proxied call is two HTTP exchanges where a direct one is one,
//!   all on the same two cores, so no proxy comes near 1.0 here; Latchkey's ratio to the bare proxy
//!   is the cost of what it does on top;
//! - the same ratio with an upstream that answers after [`API_LATENCY`] (a fast real API), where the
//!   proxy's CPU is no longer the bottleneck, and the latency one proxied call adds on one connection;
//! - memory: peak resident memory above idle while 200 MB are downloaded through the proxy, and while
//!   200 MB are uploaded through it. The process holds the server, the upstream and the client, so
//!   the figure is an upper bound of the server's own. Build it with `--release`.
//!
//! Prints lines starting `proxy: `.

/// What `latchkey` runs with ([`latchkey_server::Allocator`]), the peers in this process too.
#[global_allocator]
static ALLOCATOR: latchkey_server::Allocator = latchkey_server::Allocator;

use axum::body::{Body, Bytes};
use axum::routing::{get, put};
use axum::Router;
use futures_util::StreamExt;
use latchkey_tests::server::ReservedServer;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
/// How long the upstream's `/api/slow` takes to answer.
const API_LATENCY: Duration = Duration::from_millis(20);
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(4);
const BIG: u64 = 200 * 1000 * 1000;
const CHUNK: usize = 64 * 1024;

/// A lazily generated body of `len` bytes (nothing held in memory).
fn zeros(len: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let chunk = Bytes::from(vec![0u8; CHUNK]);
    let n = len.div_ceil(CHUNK as u64);
    futures_util::stream::iter(0..n).map(move |i| {
        let rest = len - i * CHUNK as u64;
        Ok(chunk.slice(..rest.min(CHUNK as u64) as usize))
    })
}

async fn upstream() -> anyhow::Result<String> {
    let router = Router::new()
        .route(
            "/api/ping",
            get(|| async { axum::Json(json!({"pong": true})) }),
        )
        .route(
            "/api/slow",
            get(|| async {
                tokio::time::sleep(API_LATENCY).await;
                axum::Json(json!({"pong": true}))
            }),
        )
        .route(
            "/api/download",
            get(|| async {
                axum::response::Response::builder()
                    .header("content-length", BIG)
                    .body(Body::from_stream(zeros(BIG)))
                    .unwrap()
            }),
        )
        .route(
            "/api/upload",
            put(|body: Body| async move {
                let mut n = 0u64;
                let mut data = body.into_data_stream();
                while let Some(c) = data.next().await {
                    n += c.map(|c| c.len() as u64).unwrap_or(0);
                }
                n.to_string()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

/// The peer: a pass-through proxy to `upstream` with nothing else (no auth, no lookup, no
/// headers added), the response streamed back as Latchkey streams it.
async fn bare_proxy(upstream: String) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let router = Router::new().fallback(move |req: axum::extract::Request| {
        let (http, upstream) = (http.clone(), upstream.clone());
        async move {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let res = http
                .request(req.method().clone(), format!("{upstream}{path}"))
                .send()
                .await
                .map_err(|_| axum::http::StatusCode::BAD_GATEWAY)?;
            let mut out = axum::response::Response::builder().status(res.status());
            for (name, value) in res.headers() {
                out = out.header(name, value);
            }
            out.body(Body::from_stream(res.bytes_stream()))
                .map_err(|_| axum::http::StatusCode::BAD_GATEWAY)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Runs `work` while sampling RSS every 5 ms; returns its result and the peak.
async fn peak_rss<T>(work: impl std::future::Future<Output = T>) -> (T, u64) {
    let peak = Arc::new(AtomicU64::new(rss()));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let out = work.await;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    (out, peak.load(Ordering::Relaxed))
}

async fn requests_per_second(
    http: &reqwest::Client,
    url: &str,
    headers: &reqwest::header::HeaderMap,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, headers) = (http.clone(), url.to_string(), headers.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let res = http.get(&url).headers(headers.clone()).send().await?;
                    anyhow::ensure!(res.status().is_success(), "status {}", res.status());
                    res.bytes().await?;
                    n += 1;
                }
                anyhow::Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await??;
    }
    Ok(total as f64 / duration.as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let api = upstream().await?;
    let catalog = format!(
        "bench-proxy:\n    display_name: Bench\n    auth_mode: API_KEY\n    proxy:\n        base_url: {api}/api\n        headers:\n            x-api-key: ${{apiKey}}\n"
    );
    // No rate limit: it would be what we measure otherwise.
    let server = ReservedServer::bind()
        .await?
        .start_configured(Some(&catalog), |c| c.rate_limit_per_minute = None)
        .await?;
    server
        .create_integration(&json!({"provider": "bench-proxy", "unique_key": "bench"}))
        .await?;
    let http = reqwest::Client::new();
    http.post(format!("{}/connections", server.url()))
        .bearer_auth(server.secret_key())
        .json(
            &json!({"provider_config_key": "bench", "connection_id": "c1",
                      "credentials": {"type": "API_KEY", "apiKey": "k"}}),
        )
        .send()
        .await?
        .error_for_status()?;
    let mut proxy_headers = reqwest::header::HeaderMap::new();
    proxy_headers.insert(
        "authorization",
        format!("Bearer {}", server.secret_key()).parse()?,
    );
    proxy_headers.insert("connection-id", "c1".parse()?);
    proxy_headers.insert("provider-config-key", "bench".parse()?);
    let bare = bare_proxy(api.clone()).await?;
    let none = reqwest::header::HeaderMap::new();
    let rps = |url: String, headers: reqwest::header::HeaderMap, concurrency, duration| {
        let http = http.clone();
        async move { requests_per_second(&http, &url, &headers, concurrency, duration).await }
    };
    let [direct, bared, proxied] = [
        format!("{api}/api/ping"),
        format!("{bare}/api/ping"),
        format!("{}/proxy/ping", server.url()),
    ];
    for (url, headers) in [
        (&direct, &none),
        (&bared, &none),
        (&proxied, &proxy_headers),
    ] {
        rps(url.clone(), headers.clone(), CONCURRENCY, WARM_UP).await?;
    }
    let direct_rps = rps(direct.clone(), none.clone(), CONCURRENCY, MEASURE).await?;
    let bare_rps = rps(bared.clone(), none.clone(), CONCURRENCY, MEASURE).await?;
    let proxy_rps = rps(proxied.clone(), proxy_headers.clone(), CONCURRENCY, MEASURE).await?;
    println!(
        "proxy: {proxy_rps:.0} req/s through /proxy vs {direct_rps:.0} req/s direct to the same upstream: ratio {:.2} ({CONCURRENCY} concurrent, {} s each); a bare pass-through proxy (axum + reqwest, nothing else): {bare_rps:.0} req/s, ratio {:.2} to direct (two HTTP exchanges instead of one, on the same cores); Latchkey = {:.2} x the bare proxy",
        proxy_rps / direct_rps,
        MEASURE.as_secs(),
        bare_rps / direct_rps,
        proxy_rps / bare_rps,
    );

    let slow_direct = format!("{api}/api/slow");
    let slow_proxied = format!("{}/proxy/slow", server.url());
    let slow_direct_rps = rps(slow_direct, none.clone(), CONCURRENCY, MEASURE).await?;
    let slow_proxy_rps = rps(slow_proxied, proxy_headers.clone(), CONCURRENCY, MEASURE).await?;
    let one_direct = rps(direct, none.clone(), 1, MEASURE).await?;
    let one_bare = rps(bared, none.clone(), 1, MEASURE).await?;
    let one_proxied = rps(proxied, proxy_headers.clone(), 1, MEASURE).await?;
    println!(
        "proxy: upstream answering in {} ms (a fast real API): {slow_proxy_rps:.0} req/s through /proxy vs {slow_direct_rps:.0} direct: ratio {:.2}; one connection, instant upstream: {:.0} us added per call ({:.0} us direct, {:.0} us through /proxy, {:.0} us through the bare proxy)",
        API_LATENCY.as_millis(),
        slow_proxy_rps / slow_direct_rps,
        1e6 / one_proxied - 1e6 / one_direct,
        1e6 / one_direct,
        1e6 / one_proxied,
        1e6 / one_bare,
    );

    let idle = rss();
    let started = Instant::now();
    let (downloaded, peak_down) = peak_rss(async {
        let res = http
            .get(format!("{}/proxy/download", server.url()))
            .headers(proxy_headers.clone())
            .send()
            .await?
            .error_for_status()?;
        let mut n = 0u64;
        let mut body = res.bytes_stream();
        while let Some(chunk) = body.next().await {
            n += chunk?.len() as u64;
        }
        anyhow::Ok(n)
    })
    .await;
    let down_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(downloaded? == BIG, "the whole download arrived");

    let started = Instant::now();
    let (uploaded, peak_up) = peak_rss(async {
        let res = http
            .put(format!("{}/proxy/upload", server.url()))
            .headers(proxy_headers.clone())
            .header("content-length", BIG)
            .body(reqwest::Body::wrap_stream(zeros(BIG)))
            .send()
            .await?
            .error_for_status()?;
        anyhow::Ok(res.text().await?.parse::<u64>()?)
    })
    .await;
    let up_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(uploaded? == BIG, "the whole upload arrived");
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "proxy: 200 MB download: peak RSS {:.1} MB above idle ({:.0} MB/s); 200 MB upload: {:.1} MB above idle ({:.0} MB/s) (idle {:.1} MB; server + upstream + client in one process)",
        mb(peak_down.saturating_sub(idle)),
        mb(BIG) / down_secs,
        mb(peak_up.saturating_sub(idle)),
        mb(BIG) / up_secs,
        mb(idle),
    );
    Ok(())
}
