//! (Over 600 lines: one scenario, whose load, kill, drain and checks share its state and helpers.)
//!
//! Soak test (issue 12): about a minute of mixed load on real `latchkey serve` processes, with a
//! `kill -9` of one of them mid-load and a restart.
//!
//! - SQLite (default): one server process on a SQLite file; it is killed and restarted.
//! - PostgreSQL (`LATCHKEY_TEST_POSTGRES`, as `cargo xtask test` runs the server suite a second time):
//!   two replicas on one database; replica B is killed and restarted while A keeps serving.
//!
//! Load, every loop bounded in count and time: connect sessions and API-key connections (through the
//! Connect UI's route and through `POST /connections`, several clients racing on the same ids), OAuth
//! flows and re-authorizations against the local `oidc-provider` (short-lived tokens, so reads refresh),
//! and webhooks to a local receiver that is sometimes slow, answers 500 or 429 (`Retry-After`).
//!
//! Asserted: no 5xx; every connection readable with its latest credentials (API key as last written;
//! OAuth token valid at the provider and belonging to the latest grant's user, so no refresh overwrote
//! a newer grant); every outbox webhook delivered, and exactly once by id except a re-send of one whose
//! sender was killed between the receiver's 200 and recording it (at-least-once delivery: counted
//! apart, it must have been answered just before the kill); one creation webhook per connection.
//! Loopback only; loops are bounded in count (and paced to span the kill) and in time. Figures are
//! printed. Reads pause around the kill (see the readers) because of the provider's token rotation.

use latchkey_test_peers::headless::HeadlessUser;
use latchkey_test_peers::local_oidc_provider_yaml;
use latchkey_test_peers::oidc::{OidcOptions, OidcProvider};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET_KEY: &str = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b";
const ENCRYPTION_KEY: &str = "bGF0Y2hrZXktcmVwbGljYS10ZXN0LWtleS0zMi1ieXQ=";
const OAUTH: &str = "local-oidc";
const API: &str = "key-only";
/// How long clients put load on the servers.
const LOAD: Duration = Duration::from_secs(15);
/// When the victim is killed (after the start of the load) and how long it stays down.
const KILL_AT: Duration = Duration::from_secs(7);
const DOWN_FOR: Duration = Duration::from_secs(2);
/// The longest wait for the outbox to drain afterwards (a claim of the killed process lapses in 30 s;
/// the backlog of a loaded 2-core machine takes longer).
const DRAIN: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    latchkey_test_peers::free_port().unwrap()
}

/// One `latchkey serve` process, restartable on the same port and data.
struct Node {
    port: u16,
    env: Vec<(String, String)>,
    log: std::path::PathBuf,
    child: Option<Child>,
    /// Clients send nothing here while false (around the kill).
    live: Arc<AtomicBool>,
}

impl Node {
    fn url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("LATCHKEY_ADDR", format!("127.0.0.1:{}", self.port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the latchkey binary starts");
        self.child = Some(child);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/providers", self.url())).send().await {
                if r.status().as_u16() < 500 {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server on {} did not come up",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.live.store(true, Ordering::SeqCst);
    }

    /// SIGKILL: no shutdown code runs.
    fn kill_9(&mut self) {
        self.live.store(false, Ordering::SeqCst);
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[derive(Default)]
struct Figures {
    requests: AtomicU64,
    server_errors: AtomicU64,
    /// Requests cut by the kill (connection refused or reset), retried.
    interrupted: AtomicU64,
    oauth_flows: AtomicU64,
    reads: AtomicU64,
}

/// The clients' view of the servers: round-robin over live nodes, retrying requests the kill cut.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    nodes: Vec<(String, Arc<AtomicBool>)>,
    next: Arc<AtomicU64>,
    figures: Arc<Figures>,
    /// Unexpected answers (status, what), for the failure message.
    oddities: Arc<Mutex<Vec<String>>>,
}

impl Client {
    fn base(&self) -> String {
        for _ in 0..self.nodes.len() {
            let i = self.next.fetch_add(1, Ordering::Relaxed) as usize % self.nodes.len();
            if self.nodes[i].1.load(Ordering::SeqCst) {
                return self.nodes[i].0.clone();
            }
        }
        self.nodes[0].0.clone()
    }

    /// Sends until an HTTP answer (≤ 60 attempts, 250 ms apart, while a node is down); counts 5xx.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        for _ in 0..60 {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base()));
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            self.figures.requests.fetch_add(1, Ordering::Relaxed);
            match req.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    if status >= 500 {
                        self.figures.server_errors.fetch_add(1, Ordering::Relaxed);
                        self.oddities
                            .lock()
                            .unwrap()
                            .push(format!("{status} {method} {path}: {body}"));
                    }
                    return (status, body);
                }
                Err(_) => {
                    self.figures.interrupted.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        panic!("{method} {path}: no server answered for 15 s");
    }

    async fn backend(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.send(method, path, Some(SECRET_KEY), body).await
    }

    fn odd(&self, what: String) {
        self.oddities.lock().unwrap().push(what);
    }
}

/// The receiver's record: 2xx answers per webhook id, and creation webhooks per connection.
#[derive(Default)]
struct Received {
    delivered: HashMap<String, u32>,
    creations: HashMap<String, u32>,
    requests: u64,
    /// When each request of an id arrived and when its 200 was given.
    timeline: HashMap<String, Vec<(Instant, Instant)>>,
}

/// A customer endpoint that answers each webhook's first request with a 500, a 429
/// (`Retry-After: 1`), a slow (2 s) 200 or a 200, in turn; later requests of an id get a 200. A
/// delivery counts when its 200 is sent (a request dropped by a killed sender is not one).
async fn receiver() -> (String, Arc<Mutex<Received>>) {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let received: Arc<Mutex<Received>> = Default::default();
    let state = received.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let id = headers["webhook-id"].to_str().unwrap().to_string();
                let arrived = Instant::now();
                let (first, n) = {
                    let mut r = state.lock().unwrap();
                    r.requests += 1;
                    (!r.delivered.contains_key(&id), r.requests)
                };
                if first {
                    state.lock().unwrap().delivered.insert(id.clone(), 0);
                    match n % 7 {
                        1 => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                        3 => {
                            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")])
                                .into_response()
                        }
                        5 => tokio::time::sleep(Duration::from_secs(2)).await,
                        _ => {}
                    }
                }
                let payload: Value = serde_json::from_str(&body).unwrap();
                let mut r = state.lock().unwrap();
                let count = r.delivered.get_mut(&id).unwrap();
                *count += 1;
                let first_delivery = *count == 1;
                r.timeline
                    .entry(id.clone())
                    .or_default()
                    .push((arrived, Instant::now()));
                // Creations are counted per webhook id (a re-sent one is a duplicate, counted above).
                if first_delivery
                    && payload["operation"] == "creation"
                    && payload["success"] == true
                {
                    *r.creations
                        .entry(payload["connectionId"].as_str().unwrap().to_string())
                        .or_default() += 1;
                }
                StatusCode::OK.into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// What the clients know was acknowledged last, per connection.
#[derive(Default)]
struct Expected {
    api_keys: BTreeMap<String, String>,
    /// OAuth connection id → login of its latest grant (the provider's `sub`).
    oauth_logins: BTreeMap<String, String>,
}

async fn session(c: &Client, body: Value) -> Option<String> {
    let (status, body) = c
        .backend(reqwest::Method::POST, "/connect/sessions", Some(body))
        .await;
    if status != 201 {
        c.odd(format!("session {status}: {body}"));
        return None;
    }
    body["data"]["token"].as_str().map(String::from)
}

/// One OAuth flow (new connection, or re-authorization of `reconnect`) as end user `login`;
/// returns the connection id. A flow cut by the kill is retried once with a new session.
async fn oauth_flow(
    c: &Client,
    user: &str,
    login: &str,
    reconnect: Option<&str>,
) -> Option<String> {
    for _ in 0..2 {
        let token = match reconnect {
            None => {
                session(
                    c,
                    json!({"end_user": {"id": user}, "allowed_integrations": [OAUTH]}),
                )
                .await?
            }
            Some(id) => {
                let (status, body) = c
                    .backend(
                        reqwest::Method::POST,
                        "/connect/sessions/reconnect",
                        Some(json!({"connection_id": id, "integration_id": OAUTH, "end_user": {"id": user}})),
                    )
                    .await;
                if status != 201 {
                    c.odd(format!("reconnect session {status}: {body}"));
                    return None;
                }
                body["data"]["token"].as_str()?.to_string()
            }
        };
        let start = format!(
            "{}/oauth/connect/{OAUTH}?connect_session_token={token}",
            c.base()
        );
        c.figures.oauth_flows.fetch_add(1, Ordering::Relaxed);
        let user_agent = HeadlessUser::new().unwrap();
        match user_agent.authorize(&start, login).await {
            Ok(end) if end.status.is_success() => {
                if let Some(id) = reconnect {
                    return Some(id.to_string());
                }
                let (status, list) = c
                    .backend(
                        reqwest::Method::GET,
                        &format!("/connections?endUserId={user}"),
                        None,
                    )
                    .await;
                let id = list["connections"][0]["connection_id"]
                    .as_str()
                    .map(String::from);
                if status != 200 || id.is_none() {
                    c.odd(format!("no connection for {user}: {status} {list}"));
                }
                return id;
            }
            Ok(end) if end.status.is_server_error() => {
                c.figures.server_errors.fetch_add(1, Ordering::Relaxed);
                c.odd(format!("OAuth callback {}: {}", end.status, end.body));
                return None;
            }
            // Cut by the kill (connection refused mid-flow) or a page the kill interrupted.
            _ => {
                c.figures.interrupted.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    None
}

/// Every row of the outbox, page by page (bounded: 100 pages of 1000).
async fn outbox_rows(c: &Client) -> Vec<Value> {
    let mut rows = Vec::new();
    for page in 0..100 {
        let (status, body) = c
            .backend(
                reqwest::Method::GET,
                &format!("/environment/webhooks?limit=1000&page={page}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let batch = body["data"].as_array().unwrap();
        rows.extend(batch.iter().cloned());
        if batch.len() < 1000 {
            break;
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_with_a_kill_9_mid_load() {
    let pg_server = std::env::var("LATCHKEY_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty());
    let backend = if pg_server.is_some() {
        "postgres (2 replicas)"
    } else {
        "sqlite"
    };
    let dir = tempfile::tempdir().unwrap();
    let (hook_url, received) = receiver().await;

    // Replica A's callback is the one registered at the provider; B (if any) sends flows there too.
    let ports: Vec<u16> = (0..if pg_server.is_some() { 2 } else { 1 })
        .map(|_| free_port())
        .collect();
    let public_url = format!("http://localhost:{}", ports[0]);
    let mut options = OidcOptions::new(format!("{public_url}/oauth/callback"));
    options.access_token_ttl = 60; // within the 15-minute window: every read refreshes
    let oidc = OidcProvider::start(options).await.unwrap();
    let catalog = dir.path().join("providers.yaml");
    std::fs::write(
        &catalog,
        format!(
            "{}{API}:\n    display_name: Key only\n    auth_mode: API_KEY\n",
            local_oidc_provider_yaml(oidc.issuer())
        ),
    )
    .unwrap();
    let database_url = match &pg_server {
        Some(server) => format!(
            "{}/soak_{}",
            server.trim_end_matches('/'),
            uuid::Uuid::new_v4().simple()
        ),
        None => format!("sqlite://{}", dir.path().join("soak.db").display()),
    };
    let mut nodes: Vec<Node> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let data = dir.path().join(format!("node-{i}"));
            std::fs::create_dir_all(&data).unwrap();
            let env = [
                ("LATCHKEY_PUBLIC_URL", public_url.clone()),
                ("LATCHKEY_DATA_DIR", data.display().to_string()),
                ("DATABASE_URL", database_url.clone()),
                ("LATCHKEY_SECRET_KEY", SECRET_KEY.into()),
                ("LATCHKEY_ENCRYPTION_KEY", ENCRYPTION_KEY.into()),
                ("LATCHKEY_WEBHOOK_URL", hook_url.clone()),
                ("LATCHKEY_PROVIDERS_FILE", catalog.display().to_string()),
                ("LATCHKEY_ALLOW_PRIVATE_NETWORK", "1".into()),
                ("LATCHKEY_RATE_LIMIT_PER_MINUTE", "0".into()),
                ("RUST_LOG", "warn".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            Node {
                port: *port,
                env,
                log: dir.path().join(format!("node-{i}.log")),
                child: None,
                live: Arc::new(AtomicBool::new(false)),
            }
        })
        .collect();
    for n in &mut nodes {
        n.start().await;
    }
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap(),
        nodes: nodes.iter().map(|n| (n.url(), n.live.clone())).collect(),
        next: Default::default(),
        figures: Default::default(),
        oddities: Default::default(),
    };
    let (s, b) = client
        .backend(
            reqwest::Method::POST,
            "/integrations",
            Some(
                json!({"provider": OAUTH, "unique_key": OAUTH, "credentials": {"type": "OAUTH2",
                "client_id": oidc.client_id(), "client_secret": oidc.client_secret(),
                "scopes": "openid,offline_access,email"}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = client
        .backend(
            reqwest::Method::POST,
            "/integrations",
            Some(json!({"provider": API, "unique_key": API})),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let expected: Arc<Mutex<Expected>> = Default::default();
    let started = Instant::now();
    let until = started + LOAD;
    let mut tasks = Vec::new();

    // Writers racing on the same connection ids through POST /connections (import), 3 rounds.
    for w in 0..6 {
        let (c, e) = (client.clone(), expected.clone());
        tasks.push(tokio::spawn(async move {
            for round in 0..3 {
                for k in 0..3 {
                    let id = format!("race-{k}");
                    let key = format!("race-{w}-{round}");
                    let (status, body) = c
                        .backend(
                            reqwest::Method::POST,
                            "/connections",
                            Some(json!({"provider_config_key": API, "connection_id": id,
                                "credentials": {"type": "API_KEY", "apiKey": key}})),
                        )
                        .await;
                    if status == 201 {
                        // Racing writers: the last acknowledged is one of them; checked loosely below.
                        e.lock().unwrap().api_keys.entry(id).or_default();
                    } else {
                        c.odd(format!("import {status}: {body}"));
                    }
                }
            }
        }));
    }
    // End users connecting API keys through connect sessions; each then rotates its key by import.
    for u in 0..4 {
        let (c, e) = (client.clone(), expected.clone());
        tasks.push(tokio::spawn(async move {
            // Bounded so the outbox drains within DRAIN on a loaded 2-core machine.
            for n in 0..60 {
                if Instant::now() > until {
                    break;
                }
                let user = format!("key-user-{u}-{n}");
                let Some(token) = session(&c, json!({"end_user": {"id": user}})).await else {
                    continue;
                };
                let key = format!("sk-{u}-{n}");
                let (status, body) = c
                    .send(
                        reqwest::Method::POST,
                        &format!("/api-auth/api-key/{API}?connect_session_token={token}"),
                        None,
                        Some(json!({"apiKey": key})),
                    )
                    .await;
                let Some(id) = body["connectionId"].as_str().filter(|_| status == 200) else {
                    c.odd(format!("api-key {status}: {body}"));
                    continue;
                };
                e.lock().unwrap().api_keys.insert(id.to_string(), key);
                let rotated = format!("sk-{u}-{n}-rotated");
                let (status, body) = c
                    .backend(
                        reqwest::Method::POST,
                        "/connections",
                        Some(json!({"provider_config_key": API, "connection_id": id,
                            "credentials": {"type": "API_KEY", "apiKey": rotated}})),
                    )
                    .await;
                if status == 201 {
                    e.lock().unwrap().api_keys.insert(id.to_string(), rotated);
                } else {
                    c.odd(format!("rotate {status}: {body}"));
                }
                // Paced, so the load spans the kill.
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }));
    }
    // OAuth: new connections, and re-authorizations as another user (a new grant).
    for t in 0..2 {
        let (c, e) = (client.clone(), expected.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine: Vec<String> = Vec::new();
            // Bounded so the provider's in-memory store (oidc-provider's LRU of 1000 entries: sessions,
            // grants, codes, tokens) never evicts a live grant: ~8 entries a flow, 2 a refresh.
            for n in 0..20 {
                if Instant::now() > until {
                    break;
                }
                let login = format!("t{t}n{n}");
                let reconnect = mine.last().cloned().filter(|_| n % 2 == 1);
                let user = format!("oauth-user-{t}-{n}");
                if let Some(id) = oauth_flow(&c, &user, &login, reconnect.as_deref()).await {
                    e.lock().unwrap().oauth_logins.insert(id.clone(), login);
                    if reconnect.is_none() {
                        mine.push(id);
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }));
    }
    // Readers: every read of an OAuth connection refreshes its 60-second token. They pause around the
    // kill, which waits until none is in flight: oidc-provider rotates refresh tokens and revokes a grant whose used refresh token comes
    // back, so a refresh the kill cuts after the provider answered (new token never stored) would
    // kill that grant for any server — the provider's rule, not something a server can recover.
    let quiet = Arc::new(AtomicBool::new(false));
    let reading = Arc::new(AtomicU64::new(0));
    for r in 0..3 {
        let (c, e, quiet, reading) = (
            client.clone(),
            expected.clone(),
            quiet.clone(),
            reading.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0..50 {
                if Instant::now() > until {
                    break;
                }
                if quiet.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                let ids: Vec<String> = e.lock().unwrap().oauth_logins.keys().cloned().collect();
                if ids.is_empty() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                let id = &ids[(n * 3 + r) % ids.len()];
                reading.fetch_add(1, Ordering::SeqCst);
                let (status, body) = c
                    .backend(
                        reqwest::Method::GET,
                        &format!("/connections/{id}?provider_config_key={OAUTH}"),
                        None,
                    )
                    .await;
                reading.fetch_sub(1, Ordering::SeqCst);
                c.figures.reads.fetch_add(1, Ordering::Relaxed);
                if status != 200 {
                    c.odd(format!("read {status}: {body}"));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }

    // The kill: the last node (B on PostgreSQL, the only one on SQLite), mid-load.
    tokio::time::sleep(KILL_AT.saturating_sub(started.elapsed() + Duration::from_secs(1))).await;
    quiet.store(true, Ordering::SeqCst);
    tokio::time::sleep(KILL_AT.saturating_sub(started.elapsed())).await;
    // No read (so no refresh) in flight at the kill; bounded wait.
    for _ in 0..150 {
        if reading.load(Ordering::SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let victim = nodes.len() - 1;
    nodes[victim].kill_9();
    let killed_at = started.elapsed();
    tokio::time::sleep(DOWN_FOR).await;
    nodes[victim].start().await;
    let restarted_at = started.elapsed();
    quiet.store(false, Ordering::SeqCst);

    for t in tasks {
        tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("a client task finished in time")
            .unwrap();
    }
    let load_ended = started.elapsed();

    // Drain: every outbox row delivered (a claim held by the killed process lapses after 30 s).
    let drain_deadline = Instant::now() + DRAIN;
    let outbox = loop {
        let rows = outbox_rows(&client).await;
        let pending = rows.iter().filter(|w| w["status"] != "delivered").count();
        if pending == 0 || Instant::now() > drain_deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Every connection readable with its latest credentials.
    let expected = std::mem::take(&mut *expected.lock().unwrap());
    let mut stale = Vec::new();
    for (id, key) in &expected.api_keys {
        let (status, body) = client
            .backend(
                reqwest::Method::GET,
                &format!("/connections/{id}?provider_config_key={API}"),
                None,
            )
            .await;
        let got = body["credentials"]["apiKey"].as_str().unwrap_or_default();
        let ok = status == 200
            && if id.starts_with("race-") {
                got.starts_with("race-")
            } else {
                got == key
            };
        if !ok {
            stale.push(format!("{id}: {status} {got} (expected {key})"));
        }
    }
    let mut overwritten = Vec::new();
    for (id, login) in &expected.oauth_logins {
        let (status, body) = client
            .backend(
                reqwest::Method::GET,
                &format!("/connections/{id}?provider_config_key={OAUTH}"),
                None,
            )
            .await;
        let token = body["credentials"]["access_token"]
            .as_str()
            .unwrap_or_default();
        match oidc.userinfo(token).await {
            Ok(me) if status == 200 && me["sub"] == login.as_str() => {}
            Ok(me) => overwritten.push(format!(
                "{id}: token of {} (latest grant: {login})",
                me["sub"]
            )),
            Err(e) => stale.push(format!(
                "{id} (latest login {login}): {status} {e} {}",
                body["error"]["message"]
            )),
        }
    }

    if let Ok(stats) = oidc.token_stats().await {
        println!(
            "provider token requests {:?}, errors {:?}",
            stats.token_requests, stats.token_errors
        );
    }
    let received = received.lock().unwrap();
    // A second delivery of an id is a duplicate. Webhooks are at-least-once: a sender killed after the
    // receiver answered 200 but before it recorded the delivery leaves the row to be sent again when
    // its claim lapses (which is why receivers de-duplicate on `webhook-id`). Such duplicates — first
    // answered just before the kill, sent again after it — are counted apart; any other is a bug.
    let kill = started + killed_at;
    let mut duplicates = 0u32;
    let mut duplicates_of_the_kill = 0u32;
    for (id, times) in received.timeline.iter().filter(|(_, t)| t.len() > 1) {
        let at = |i: Instant| i.saturating_duration_since(started).as_secs_f64();
        println!(
            "duplicate {id}: (arrived, answered) at {:?}",
            times
                .iter()
                .map(|(a, d)| (at(*a), at(*d)))
                .collect::<Vec<_>>()
        );
        let first_answered = times[0].1;
        let cut_by_the_kill = first_answered <= kill + Duration::from_millis(200)
            && first_answered + Duration::from_secs(3) >= kill
            && times[1..].iter().all(|(arrived, _)| *arrived > kill);
        let extra = (times.len() - 1) as u32;
        if cut_by_the_kill {
            duplicates_of_the_kill += extra;
        } else {
            duplicates += extra;
        }
    }
    let lost: Vec<&str> = outbox
        .iter()
        .filter_map(|w| w["id"].as_str())
        .filter(|id| received.delivered.get(*id).copied().unwrap_or(0) == 0)
        .collect();
    let double_creations: Vec<_> = received
        .creations
        .iter()
        .filter(|(_, n)| **n != 1)
        .collect();
    let connections = expected.api_keys.len() + expected.oauth_logins.len();
    let f = &client.figures;
    println!(
        "soak [{backend}]: {:.1}s load, kill -9 at {:.1}s, restarted at {:.1}s; requests {}, interrupted by the kill {}, \
         OAuth flows {}, reads {}, connections {}, webhooks {} (receiver requests {}), 5xx {}, duplicates {} (+ {} re-sent after the kill cut their recording), lost {}, \
         stale connections {}, overwritten grants {}",
        load_ended.as_secs_f64(),
        killed_at.as_secs_f64(),
        restarted_at.as_secs_f64(),
        f.requests.load(Ordering::Relaxed),
        f.interrupted.load(Ordering::Relaxed),
        f.oauth_flows.load(Ordering::Relaxed),
        f.reads.load(Ordering::Relaxed),
        connections,
        outbox.len(),
        received.requests,
        f.server_errors.load(Ordering::Relaxed),
        duplicates,
        duplicates_of_the_kill,
        lost.len(),
        stale.len(),
        overwritten.len(),
    );
    let oddities = client.oddities.lock().unwrap().clone();
    let logs: String = (0..nodes.len())
        .map(|i| {
            std::fs::read_to_string(dir.path().join(format!("node-{i}.log"))).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .lines()
        .filter(|l| l.contains("ERROR"))
        .take(20)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        f.server_errors.load(Ordering::Relaxed),
        0,
        "5xx: {oddities:?}\n{logs}"
    );
    assert!(
        oddities.is_empty(),
        "unexpected answers: {oddities:?}\n{logs}"
    );
    assert!(
        stale.is_empty(),
        "connections without their latest credentials: {stale:?}\n{logs}"
    );
    assert!(
        overwritten.is_empty(),
        "refreshes overwrote newer grants: {overwritten:?}"
    );
    assert!(lost.is_empty(), "webhooks never delivered: {lost:?}");
    assert_eq!(duplicates, 0, "webhooks delivered more than once");
    assert!(
        double_creations.is_empty(),
        "creation webhooks per connection: {double_creations:?}"
    );
    assert!(
        expected.oauth_logins.len() >= 2,
        "some OAuth connections were made"
    );
    assert!(f.reads.load(Ordering::Relaxed) > 0);
}
