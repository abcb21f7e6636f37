//! `cargo xtask bench`'s server figure: requests per second and latency of the call a customer
//! backend makes most, `GET /connection/:id` (session-less secret-key auth, a row read, AES-GCM
//! open, JSON), against the real server on loopback with a SQLite file. Build it with `--release`.
//!
//! Prints one line: `server: <n> req/s …`.

use latchkey_tests::server::ReservedServer;
use serde_json::json;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The per-key rate limit would be what we measure otherwise.
    std::env::set_var("LATCHKEY_RATE_LIMIT_PER_MINUTE", "0");
    let server = ReservedServer::bind()
        .await?
        .start(Some(
            "bench-key:\n    display_name: Bench\n    auth_mode: API_KEY\n",
        ))
        .await?;
    server
        .create_integration(&json!({"provider": "bench-key", "unique_key": "bench-key"}))
        .await?;
    let http = reqwest::Client::new();
    let session: serde_json::Value = http
        .post(format!("{}/connect/sessions", server.url()))
        .bearer_auth(server.secret_key())
        .json(&json!({"end_user": {"id": "bench"}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["data"]["token"].as_str().unwrap_or_default();
    let created: serde_json::Value = http
        .post(format!(
            "{}/api-auth/api-key/bench-key?connect_session_token={token}",
            server.url()
        ))
        .json(&json!({"apiKey": "sk-bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let connection_id = created["connectionId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let url = format!(
        "{}/connection/{connection_id}?provider_config_key=bench-key",
        server.url()
    );
    let secret = format!("Bearer {}", server.secret_key());

    let run = |duration: Duration| {
        let (http, url, secret) = (http.clone(), url.clone(), secret.clone());
        async move {
            let deadline = Instant::now() + duration;
            let workers = (0..CONCURRENCY).map(|_| {
                let (http, url, secret) = (http.clone(), url.clone(), secret.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let res = http
                            .get(&url)
                            .header("authorization", &secret)
                            .send()
                            .await?;
                        anyhow::ensure!(res.status().is_success(), "status {}", res.status());
                        res.bytes().await?;
                        latencies.push(t.elapsed());
                    }
                    Ok(latencies)
                })
            });
            // Spawn them all before waiting on any, so they really run side by side.
            let workers: Vec<_> = workers.collect();
            let mut all = Vec::new();
            for w in workers {
                all.extend(w.await??);
            }
            anyhow::Ok(all)
        }
    };
    run(WARM_UP).await?;
    let mut latencies = run(MEASURE).await?;
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!(
        "server: {:.0} req/s GET /connection/:id ({} concurrent, {} s, SQLite), p50 {:.2} ms, p99 {:.2} ms",
        latencies.len() as f64 / MEASURE.as_secs_f64(),
        CONCURRENCY,
        MEASURE.as_secs(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}
