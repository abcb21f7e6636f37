//! `cargo xtask bench`'s proxy figures, in one run against one local upstream (an axum server on
//! loopback, in this process):
//! - overhead: requests per second of `GET /proxy/ping` (secret-key auth, connection read and AES-GCM
//!   open, credential injection, the upstream call, the answer streamed back, the activity log entry)
//!   against the same upstream endpoint called directly, and their ratio. Beside it, the peer that
//!   shows what that ratio can be here: a bare pass-through proxy (the same axum, tokio and reqwest,
//!   nothing but the two exchanges). A proxied call is two HTTP exchanges where a direct one is one,
//!   all on the same two cores, so no proxy comes near 1.0 here; Latchkey's ratio to the bare proxy
//!   is the cost of what it does on top. A second Latchkey server with the activity log off shows
//!   what recording each call costs. All targets are measured in alternating rounds (medians), so a
//!   busier moment of the machine falls on each alike;
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
use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
/// How long the upstream's `/api/slow` takes to answer.
const API_LATENCY: Duration = Duration::from_millis(20);
/// Each target's warm-up.
const WARM_UP: Duration = Duration::from_millis(500);
/// One measured round of one target.
const ROUND: Duration = Duration::from_secs(1);
/// Measured rounds per target, alternating between targets.
const ROUNDS: usize = 5;
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

/// A Latchkey server proxying to `api` as the integration `bench` (API key in a header), with the
/// activity log on (the default) or off, and the headers a proxied call carries.
async fn latchkey(
    api: &str,
    activity_log: bool,
) -> anyhow::Result<(LatchkeyServer, reqwest::header::HeaderMap)> {
    let catalog = format!(
        "bench-proxy:\n    display_name: Bench\n    auth_mode: API_KEY\n    proxy:\n        base_url: {api}/api\n        headers:\n            x-api-key: ${{apiKey}}\n"
    );
    let server = ReservedServer::bind()
        .await?
        .start_configured(Some(&catalog), |c| {
            // No rate limit: it would be what we measure otherwise.
            c.rate_limit_per_minute = None;
            c.activity.enabled = activity_log;
        })
        .await?;
    server
        .create_integration(&json!({"provider": "bench-proxy", "unique_key": "bench"}))
        .await?;
    reqwest::Client::new()
        .post(format!("{}/connections", server.url()))
        .bearer_auth(server.secret_key())
        .json(
            &json!({"provider_config_key": "bench", "connection_id": "c1",
                      "credentials": {"type": "API_KEY", "apiKey": "k"}}),
        )
        .send()
        .await?
        .error_for_status()?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {}", server.secret_key()).parse()?,
    );
    headers.insert("connection-id", "c1".parse()?);
    headers.insert("provider-config-key", "bench".parse()?);
    Ok((server, headers))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One target of the alternating rounds: a URL and the headers its calls carry.
struct Target {
    url: String,
    headers: reqwest::header::HeaderMap,
}

/// Requests per second of every target at `concurrency`, measured in [`ROUNDS`] alternating rounds
/// of `round` each (so that a slower or busier moment of the machine falls on all of them alike);
/// the median round of each.
async fn alternating(
    http: &reqwest::Client,
    targets: &[Target],
    concurrency: usize,
    round: Duration,
) -> anyhow::Result<Vec<f64>> {
    let mut rounds = vec![Vec::new(); targets.len()];
    for _ in 0..ROUNDS {
        for (t, out) in targets.iter().zip(&mut rounds) {
            out.push(requests_per_second(http, &t.url, &t.headers, concurrency, round).await?);
        }
    }
    Ok(rounds.into_iter().map(median).collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let api = upstream().await?;
    let (server, proxy_headers) = latchkey(&api, true).await?;
    let (unlogged, unlogged_headers) = latchkey(&api, false).await?;
    let http = reqwest::Client::new();
    let bare = bare_proxy(api.clone()).await?;
    let none = reqwest::header::HeaderMap::new();
    let targets = |path: &str| {
        [
            (format!("{api}/api/{path}"), &none),
            (format!("{bare}/api/{path}"), &none),
            (format!("{}/proxy/{path}", server.url()), &proxy_headers),
            (
                format!("{}/proxy/{path}", unlogged.url()),
                &unlogged_headers,
            ),
        ]
        .map(|(url, headers)| Target {
            url,
            headers: headers.clone(),
        })
    };
    let instant = targets("ping");
    for t in &instant {
        requests_per_second(&http, &t.url, &t.headers, CONCURRENCY, WARM_UP).await?;
    }
    let [direct, bare_rps, proxied, unlogged_rps] =
        <[f64; 4]>::try_from(alternating(&http, &instant, CONCURRENCY, ROUND).await?).unwrap();
    println!(
        "proxy: {proxied:.0} req/s through /proxy vs {direct:.0} req/s direct to the same upstream: ratio {:.2} ({CONCURRENCY} concurrent, median of {ROUNDS} alternating rounds of {} s); a bare pass-through proxy (axum + reqwest, nothing else): {bare_rps:.0} req/s, ratio {:.2} to direct (two HTTP exchanges instead of one, on the same cores); Latchkey = {:.2} x the bare proxy ({:.2} with the activity log off: {unlogged_rps:.0} req/s)",
        proxied / direct,
        ROUND.as_secs_f64(),
        bare_rps / direct,
        proxied / bare_rps,
        unlogged_rps / bare_rps,
    );

    let slow = targets("slow");
    let [slow_direct, _, slow_proxied, _] =
        <[f64; 4]>::try_from(alternating(&http, &slow, CONCURRENCY, ROUND).await?).unwrap();
    let [one_direct, one_bare, one_proxied, one_unlogged] =
        <[f64; 4]>::try_from(alternating(&http, &instant, 1, ROUND).await?).unwrap();
    let us = |rps: f64| 1e6 / rps;
    println!(
        "proxy: upstream answering in {} ms (a fast real API): {slow_proxied:.0} req/s through /proxy vs {slow_direct:.0} direct: ratio {:.2}; one connection, instant upstream: {:.0} us added per call ({:.0} us direct, {:.0} us through /proxy, {:.0} us with the activity log off, {:.0} us through the bare proxy)",
        API_LATENCY.as_millis(),
        slow_proxied / slow_direct,
        us(one_proxied) - us(one_direct),
        us(one_direct),
        us(one_proxied),
        us(one_unlogged),
        us(one_bare),
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
