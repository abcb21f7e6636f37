//! `cargo xtask bench`'s server figures: Latchkey's two hottest calls against a bare axum handler
//! living in this process (same axum and tokio, answering a JSON body of the same size), loaded by a
//! real load generator (`wrk`, 2 threads × 32 connections) in alternating rounds, so both sides see
//! the same machine at the same moment:
//! - `GET /connection/:id` (secret-key auth, connection read, AES-GCM open, no refresh) on SQLite, on
//!   PostgreSQL, and on two replicas sharing one PostgreSQL database (one wrk thread per replica).
//!   Nothing writes during its rounds, so on SQLite the row comes from memory (kept until the next
//!   commit: `server/src/storage/row_cache.rs`), as it does for an app that reads more than it writes;
//! - `POST /connect/sessions` (secret-key auth, a durable insert, a random token) on SQLite and
//!   PostgreSQL, and on SQLite once more with the activity log off (what logging each session costs).
//!
//! PostgreSQL is the test harness's throwaway cluster (tests/src/postgres.rs), which runs with
//! `fsync=off`: its figures show the server's own cost, not a disk's. Build it with `--release`;
//! needs `wrk` on the PATH (`cargo xtask bench` installs it).
//!
//! Prints lines starting `server: `.

/// What `latchkey` runs with ([`latchkey_server::Allocator`]), the peers in this process too.
#[global_allocator]
static ALLOCATOR: latchkey_server::Allocator = latchkey_server::Allocator;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_tests::postgres::Postgres;
use latchkey_tests::server::{LatchkeyServer, ReservedServer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const THREADS: usize = 2;
const CONNECTIONS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;
const PROVIDER: &str = "bench-key:\n    display_name: Bench\n    auth_mode: API_KEY\n";
/// Both replicas must open each other's ciphertexts (32 bytes, base64).
const ENCRYPTION_KEY: &str = "bGF0Y2hrZXktcmVwbGljYS10ZXN0LWtleS0zMi1ieXQ=";
const BARE_GET: &str = "bare axum GET (same JSON)";
const BARE_POST: &str = "bare axum POST (same JSON)";
/// Label suffix of the figure taken with the activity log off (no goal: it shows the log's cost).
const QUIET: &str = ", activity log off";
const SESSION_BODY: &str = r#"{"end_user":{"id":"bench-user","email":"bench@example.com"}}"#;

/// One thing wrk loads: a URL and the Lua that sets the request up.
#[derive(Clone)]
struct Target {
    label: String,
    /// Label of the peer this figure is compared with (`None`: it is a peer).
    peer: Option<&'static str>,
    /// Issue 14's goal: at least this ratio to the peer, p99 under this many ms.
    goal: Option<(f64, f64)>,
    script: PathBuf,
    url: String,
    rounds: Vec<(f64, f64)>,
}

/// wrk's request setup: method, headers, body and (for replicas) one address per thread.
fn script(
    dir: &Path,
    name: &str,
    method: &str,
    secret: Option<&str>,
    body: Option<&str>,
    ports: &[u16],
) -> anyhow::Result<PathBuf> {
    let mut lua = format!("wrk.method = \"{method}\"\n");
    if let Some(secret) = secret {
        lua += &format!("wrk.headers[\"Authorization\"] = \"Bearer {secret}\"\n");
    }
    if let Some(body) = body {
        lua += "wrk.headers[\"Content-Type\"] = \"application/json\"\n";
        lua += &format!("wrk.body = [[{body}]]\n");
    }
    if ports.len() > 1 {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        lua += &format!(
            "local ports = {{ {list} }}\nlocal n = 0\nfunction setup(thread)\n  \
             thread.addr = wrk.lookup(\"127.0.0.1\", tostring(ports[n % #ports + 1]))[1]\n  \
             n = n + 1\nend\n"
        );
    }
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, lua)?;
    Ok(path)
}

/// `1.23ms` / `456.00us` / `1.02s` → milliseconds.
fn millis(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// Runs wrk once; returns (requests per second, p99 in ms). Any non-2xx answer fails the bench.
fn wrk(target: &Target, duration: Duration) -> anyhow::Result<(f64, f64)> {
    let out = Command::new("wrk")
        .arg(format!("-t{THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{}s", duration.as_secs()))
        .arg("--latency")
        .arg("-s")
        .arg(&target.script)
        .arg(&target.url)
        .output()
        .map_err(|e| anyhow::anyhow!("wrk: {e} (install it: apt-get install wrk)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success() && !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk against {} failed:\n{text}{}",
        target.label,
        String::from_utf8_lossy(&out.stderr)
    );
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok());
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(|v| millis(v.trim()));
    match (rps, p99) {
        (Some(rps), Some(p99)) => Ok((rps, p99)),
        _ => anyhow::bail!("unexpected wrk output:\n{text}"),
    }
}

/// A bare axum server answering `get_body` to GET and `post_body` (201) to a JSON POST.
async fn bare(get_body: Value, post_body: Value) -> anyhow::Result<u16> {
    let router = Router::new()
        .route("/get", get(move || async move { Json(get_body.clone()) }))
        .route(
            "/post",
            post(move |Json(_): Json<Value>| async move {
                (StatusCode::CREATED, Json(post_body.clone()))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(port)
}

/// A server with the bench integration and one API-key connection: its `GET /connection/:id` URL.
async fn seed(server: &LatchkeyServer) -> anyhow::Result<String> {
    server
        .create_integration(&json!({"provider": "bench-key", "unique_key": "bench-key"}))
        .await?;
    let http = reqwest::Client::new();
    let session: Value = http
        .post(format!("{}/connect/sessions", server.url()))
        .bearer_auth(server.secret_key())
        .json(&json!({"end_user": {"id": "bench"}}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["data"]["token"].as_str().unwrap_or_default();
    let created: Value = http
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
    let id = created["connectionId"].as_str().unwrap_or_default();
    Ok(format!(
        "http://127.0.0.1:{}/connection/{id}?provider_config_key=bench-key",
        server.local_addr().port()
    ))
}

/// `http://127.0.0.1:<port>/connect/sessions`.
fn sessions_url(server: &LatchkeyServer) -> String {
    format!(
        "http://127.0.0.1:{}/connect/sessions",
        server.local_addr().port()
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("bench-server-").tempdir()?;

    // No per-key rate limit: it would be what we measure otherwise.
    let sqlite = ReservedServer::bind()
        .await?
        .start_configured(Some(PROVIDER), |c| c.rate_limit_per_minute = None)
        .await?;
    let sqlite_get = seed(&sqlite).await?;
    // The same with the activity log off: every session created is logged (an entry and its step,
    // committed in batches on the same database file); this figure shows what that costs.
    let sqlite_quiet = ReservedServer::bind()
        .await?
        .start_configured(Some(PROVIDER), |c| {
            c.rate_limit_per_minute = None;
            c.activity.enabled = false;
        })
        .await?;
    let pg = tokio::task::spawn_blocking(Postgres::start).await??;
    let pg_single = pg.url("bench_single");
    let pg_shared = pg.url("bench_replicas");
    let on = |db: String| {
        move |c: &mut latchkey_server::Config| {
            c.database_url = db;
            c.encryption_key = Some(ENCRYPTION_KEY.into());
            c.rate_limit_per_minute = None;
        }
    };
    let postgres = ReservedServer::bind()
        .await?
        .start_configured(Some(PROVIDER), on(pg_single))
        .await?;
    let postgres_get = seed(&postgres).await?;
    let replica_a = ReservedServer::bind()
        .await?
        .start_configured(Some(PROVIDER), on(pg_shared.clone()))
        .await?;
    let replica_b = ReservedServer::bind()
        .await?
        .start_configured(Some(PROVIDER), on(pg_shared))
        .await?;
    let replicas_get = seed(&replica_a).await?;

    // The bare handler answers exactly what Latchkey answered (same size, same JSON).
    let http = reqwest::Client::new();
    let get_body: Value = http
        .get(&sqlite_get)
        .bearer_auth(sqlite.secret_key())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let post_body: Value = http
        .post(sessions_url(&sqlite))
        .bearer_auth(sqlite.secret_key())
        .header("content-type", "application/json")
        .body(SESSION_BODY)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let bare_port = bare(get_body, post_body).await?;

    let d = dir.path();
    let secret_sqlite = sqlite.secret_key();
    let secret_pg = postgres.secret_key();
    let secret_replicas = replica_a.secret_key();
    let ports = [replica_a.local_addr().port(), replica_b.local_addr().port()];
    let target = |label: &str, peer, script: PathBuf, url: String| Target {
        label: label.into(),
        peer,
        goal: match (label.contains("SQLite"), label.starts_with("GET")) {
            _ if label.ends_with(QUIET) => None,
            (true, true) => Some((0.50, 5.0)),
            (true, false) => Some((0.40, 10.0)),
            _ => None,
        },
        script,
        url,
        rounds: Vec::new(),
    };
    let mut targets = vec![
        target(
            BARE_GET,
            None,
            script(d, "bare-get", "GET", None, None, &[])?,
            format!("http://127.0.0.1:{bare_port}/get"),
        ),
        target(
            BARE_POST,
            None,
            script(d, "bare-post", "POST", None, Some(SESSION_BODY), &[])?,
            format!("http://127.0.0.1:{bare_port}/post"),
        ),
        target(
            "GET /connection/:id, SQLite",
            Some(BARE_GET),
            script(d, "get-sqlite", "GET", Some(secret_sqlite), None, &[])?,
            sqlite_get,
        ),
        target(
            "POST /connect/sessions, SQLite",
            Some(BARE_POST),
            script(
                d,
                "post-sqlite",
                "POST",
                Some(secret_sqlite),
                Some(SESSION_BODY),
                &[],
            )?,
            sessions_url(&sqlite),
        ),
        target(
            &format!("POST /connect/sessions, SQLite{QUIET}"),
            Some(BARE_POST),
            script(
                d,
                "post-sqlite-quiet",
                "POST",
                Some(sqlite_quiet.secret_key()),
                Some(SESSION_BODY),
                &[],
            )?,
            sessions_url(&sqlite_quiet),
        ),
        target(
            "GET /connection/:id, PostgreSQL",
            Some(BARE_GET),
            script(d, "get-pg", "GET", Some(secret_pg), None, &[])?,
            postgres_get,
        ),
        target(
            "POST /connect/sessions, PostgreSQL",
            Some(BARE_POST),
            script(
                d,
                "post-pg",
                "POST",
                Some(secret_pg),
                Some(SESSION_BODY),
                &[],
            )?,
            sessions_url(&postgres),
        ),
        target(
            "GET /connection/:id, 2 replicas on PostgreSQL",
            Some(BARE_GET),
            script(
                d,
                "get-replicas",
                "GET",
                Some(secret_replicas),
                None,
                &ports,
            )?,
            replicas_get,
        ),
    ];

    // `BENCH_SERVER_ONLY=<text>`: only the figures whose label contains it, for profiling one.
    if let Ok(only) = std::env::var("BENCH_SERVER_ONLY") {
        targets.retain(|t| t.label.contains(&only));
    }
    // wrk blocks; it runs on a blocking thread while the servers keep the runtime's workers.
    for t in &targets {
        let probe = t.clone();
        tokio::task::spawn_blocking(move || wrk(&probe, WARM_UP)).await??;
    }
    for _ in 0..ROUNDS {
        for t in targets.iter_mut() {
            let probe = t.clone();
            let figure = tokio::task::spawn_blocking(move || wrk(&probe, ROUND)).await??;
            t.rounds.push(figure);
        }
    }

    let summary: Vec<(f64, f64)> = targets
        .iter()
        .map(|t| {
            (
                median(t.rounds.iter().map(|r| r.0).collect()),
                median(t.rounds.iter().map(|r| r.1).collect()),
            )
        })
        .collect();
    println!(
        "server: wrk {THREADS} threads × {CONNECTIONS} connections, {ROUNDS} alternating rounds of {} s, medians",
        ROUND.as_secs()
    );
    println!(
        "server: nothing writes during a GET round: on SQLite the connection row is kept in memory until the next commit"
    );
    for (t, (rps, p99)) in targets.iter().zip(&summary) {
        let peer = t
            .peer
            .and_then(|p| targets.iter().position(|t| t.label == p));
        let ratio = match (t.peer, peer) {
            (Some(_), Some(peer)) => {
                let ratio = rps / summary[peer].0;
                let goal = t.goal.map_or(String::new(), |(r, p)| {
                    let met = if ratio >= r && *p99 < p {
                        "met"
                    } else {
                        "not met"
                    };
                    format!(" (goal ≥ {r:.2}, p99 < {p} ms: {met})")
                });
                format!("{ratio:.2} × bare{goal}")
            }
            (Some(_), None) => "(peer not measured)".into(),
            (None, _) => "peer".into(),
        };
        println!(
            "server: {:<56} {:>8.0} req/s  p99 {:>6.2} ms  {ratio}",
            t.label, rps, p99
        );
    }
    drop((sqlite, sqlite_quiet, postgres, replica_a, replica_b));
    drop(pg);
    Ok(())
}
