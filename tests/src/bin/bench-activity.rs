//! `cargo xtask bench`'s activity-log figure (issue 17): flows per second — a connect session created
//! by the backend, then an API key submitted with it (two recorded operations, five steps) — against
//! the real server on loopback with a SQLite file, with the activity log on and off
//! (`LATCHKEY_ACTIVITY_LOG`). Recording must not slow flows: the goal is a ratio of at least 0.9.
//! Build it with `--release`.
//!
//! Prints one line: `activity: …`.

/// What `latchkey` runs with ([`latchkey_server::Allocator`]), the peers in this process too.
#[global_allocator]
static ALLOCATOR: latchkey_server::Allocator = latchkey_server::Allocator;

use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use serde_json::json;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 16;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(3);
const CATALOG: &str = "bench-key:\n    display_name: Bench\n    auth_mode: API_KEY\n";

async fn server(log: bool) -> anyhow::Result<LatchkeyServer> {
    let server = ReservedServer::bind()
        .await?
        .start_configured(Some(CATALOG), |c| {
            c.activity.enabled = log;
            // The per-key rate limit would be what we measure otherwise.
            c.rate_limit_per_minute = None;
        })
        .await?;
    server
        .create_integration(&json!({"provider": "bench-key", "unique_key": "bench-key"}))
        .await?;
    Ok(server)
}

/// One flow: session, then the credential submission.
async fn flow(http: &reqwest::Client, base: &str, secret: &str) -> anyhow::Result<()> {
    let session: serde_json::Value = http
        .post(format!("{base}/connect/sessions"))
        .bearer_auth(secret)
        .json(&json!({"end_user": {"id": "bench"}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["data"]["token"].as_str().unwrap_or_default();
    http.post(format!(
        "{base}/api-auth/api-key/bench-key?connect_session_token={token}"
    ))
    .json(&json!({"apiKey": "sk-bench"}))
    .send()
    .await?
    .error_for_status()?;
    Ok(())
}

/// Flows per second over `duration`.
async fn run(server: &LatchkeyServer, duration: Duration) -> anyhow::Result<f64> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (http, base, secret) = (
                http.clone(),
                server.url().to_string(),
                server.secret_key().to_string(),
            );
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    flow(&http, &base, &secret).await?;
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
    let off = server(false).await?;
    let on = server(true).await?;
    run(&off, WARM_UP).await?;
    run(&on, WARM_UP).await?;
    // Interleaved, best of two each: less sensitive to a noisy neighbour.
    let (mut best_off, mut best_on) = (0f64, 0f64);
    for _ in 0..2 {
        best_off = best_off.max(run(&off, MEASURE).await?);
        best_on = best_on.max(run(&on, MEASURE).await?);
    }
    println!(
        "activity: {best_on:.0} flows/s with the activity log on, {best_off:.0} off: ratio {:.2} (goal ≥ 0.9; session + API key, {CONCURRENCY} concurrent, SQLite)",
        best_on / best_off
    );
    Ok(())
}
